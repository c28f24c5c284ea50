// StoredHead: the bytes a hit sends, prepared once per stored object.
#include "proxy/stored_head.h"

#include <gtest/gtest.h>

#include "cache/stored_response.h"
#include "http/serializer.h"

namespace stavka::proxy {
namespace {

std::shared_ptr<const StoredHead> decode(int status, std::string_view fields) {
  return make_stored_head({status, cache::parse_fields(fields), 100, 101});
}

TEST(StoredHead, HitHeadHasTheStoredFieldsThenThePerResponseOnes) {
  auto head = decode(200, "Content-Type: text/plain\r\nCache-Control: max-age=60\r\n"
                          "ETag: \"v1\"\r\n");
  std::string out;
  assemble_head(*head, "5", "stavka; hit; ttl=55", "stavka", 1234, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\n"
            "ETag: \"v1\"\r\nAge: 5\r\nCache-Status: stavka; hit; ttl=55\r\n"
            "Via: 1.1 stavka\r\nContent-Length: 1234\r\n\r\n");
}

TEST(StoredHead, PartialHeadForOneRangeHasContentRange) {
  auto head = decode(200, "Content-Type: text/plain\r\nETag: \"v1\"\r\n");
  std::string out;
  PartialHead partial{"bytes 0-9/1234", {}};
  assemble_head(*head, "5", "stavka; hit", "stavka", 10, false, out, &partial);
  EXPECT_EQ(out,
            "HTTP/1.1 206 Partial Content\r\nContent-Type: text/plain\r\nETag: \"v1\"\r\n"
            "Content-Range: bytes 0-9/1234\r\nAge: 5\r\nCache-Status: stavka; hit\r\n"
            "Via: 1.1 stavka\r\nContent-Length: 10\r\n\r\n");
}

TEST(StoredHead, PartialHeadForSeveralRangesReplacesTheContentType) {
  auto head = decode(200, "content-type: video/mp4\r\nETag: \"v1\"\r\n");
  std::string out;
  PartialHead partial{{}, "multipart/byteranges; boundary=b"};
  assemble_head(*head, "0", "stavka; hit", "stavka", 99, true, out, &partial);
  EXPECT_EQ(out,
            "HTTP/1.1 206 Partial Content\r\nETag: \"v1\"\r\n"
            "Content-Type: multipart/byteranges; boundary=b\r\nAge: 0\r\n"
            "Cache-Status: stavka; hit\r\nVia: 1.1 stavka\r\nContent-Length: 99\r\n"
            "Connection: close\r\n\r\n");
}

TEST(StoredHead, UpstreamCacheStatusAndViaComeFirstInOneLineEach) {
  auto head = decode(200, "Via: 1.1 a\r\nCache-Status: edge; hit\r\nVia: 1.0 b\r\n"
                          "Cache-Status: shield; fwd=uri-miss\r\nX-A: 1\r\n");
  EXPECT_EQ(head->upstream_via, "1.1 a, 1.0 b");
  EXPECT_EQ(head->upstream_cache_status, "edge; hit, shield; fwd=uri-miss");
  std::string out;
  assemble_head(*head, "0", "stavka; hit", "stavka", 0, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nAge: 0\r\n"
            "Cache-Status: edge; hit, shield; fwd=uri-miss, stavka; hit\r\n"
            "Via: 1.1 a, 1.0 b, 1.1 stavka\r\nContent-Length: 0\r\n\r\n");
}

TEST(StoredHead, StoredAgeLengthAndHopByHopFieldsAreNotRepeated) {
  auto head = decode(200, "Age: 40\r\nContent-Length: 9\r\nConnection: x-hop\r\nX-Hop: 1\r\n"
                          "Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nX-End: 2\r\n");
  EXPECT_EQ(head->fixed, "HTTP/1.1 200 OK\r\nX-End: 2\r\n");
  // The parsed fields the policy reads keep Age (the current age starts from it).
  EXPECT_TRUE(head->response.headers.find("age"));
}

TEST(StoredHead, NoContentLengthForA204AndCloseWhenTheConnectionEnds) {
  auto head = decode(204, "X-A: 1\r\n");
  std::string out;
  assemble_head(*head, "1", "stavka; hit", "edge-7", 0, true, out);
  EXPECT_EQ(out,
            "HTTP/1.1 204 No Content\r\nX-A: 1\r\nAge: 1\r\nCache-Status: stavka; hit\r\n"
            "Via: 1.1 edge-7\r\nConnection: close\r\n\r\n");
}

TEST(StoredHead, AssembleHeadCountsTheFieldsAModuleSees) {
  // What a module's response phase counts (num_headers) is what the bytes hold as fields.
  auto head = decode(200, "Content-Type: text/plain\r\nVia: 1.0 up\r\nETag: \"v1\"\r\n"
                          "Connection: x-hop\r\nX-Hop: 1\r\n");
  auto untyped = decode(200, "ETag: \"v1\"\r\n");
  const PartialHead one{"bytes 0-9/1234", {}};
  const PartialHead several{{}, "multipart/byteranges; boundary=b"};
  for (const StoredHead* h : {head.get(), untyped.get()}) {
    for (const PartialHead* partial : {static_cast<const PartialHead*>(nullptr), &one, &several}) {
      for (bool close : {false, true}) {
        std::string out;
        uint32_t n = assemble_head(*h, "5", "stavka; hit", "stavka", 10, close, out, partial);
        http::HeaderMap fields;
        http::fields_of_written_head(out, fields);
        EXPECT_EQ(n, fields.size()) << out;
      }
    }
  }
}

TEST(StoredHead, DirectivesAreParsedOnce) {
  auto head = decode(200, "Cache-Control: max-age=60, stale-if-error=30\r\n");
  ASSERT_TRUE(head->rcc.cc.max_age.has_value());
  EXPECT_EQ(*head->rcc.cc.max_age, 60);
  ASSERT_TRUE(head->rcc.cc.stale_if_error.has_value());
}

TEST(StoredHead, MetaWithoutDecodingIsDecodedOnDemand) {
  storage::ObjectMeta meta;
  meta.status = 404;
  meta.headers = "X-A: 1\r\n";
  auto head = stored_head_of(meta);
  EXPECT_EQ(head->fixed, "HTTP/1.1 404 Not Found\r\nX-A: 1\r\n");
  meta.decoded = head;
  EXPECT_EQ(stored_head_of(meta).get(), head.get());
}

}  // namespace
}  // namespace stavka::proxy
