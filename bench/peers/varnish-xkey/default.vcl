vcl 4.1;
# Varnish with purges by surrogate key (vmod xkey, Debian's varnish-modules), for
# bench/admin_api.py: the shared peer's VCL (bench-peers/varnish) plus the xkey index and a
# PURGE method that purges the keys of its xkey-purge field. Placeholders as the shared one's.
import xkey;

backend origin {
    .host = "127.0.0.1";
    .port = "@ORIGIN_PORT@";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (!req.http.xkey-purge) {
            return (synth(400, "xkey-purge missing"));
        }
        # xkey.purge() answers how many objects it purged.
        return (synth(200, "purged " + xkey.purge(req.http.xkey-purge)));
    }
}

sub vcl_backend_response {
    # xkey indexes the keys of the xkey field: the origin's Surrogate-Key.
    if (beresp.http.Surrogate-Key) {
        set beresp.http.xkey = beresp.http.Surrogate-Key;
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
