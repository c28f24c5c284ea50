// Http1Parser: llhttp 8.1 driven in pause mode, plus the checks llhttp leaves to its caller.
//
// Owned by one connection on one worker; nothing here is shared (the llhttp settings table is
// immutable after its first use). The parser moves through three phases per message: head
// (start line + fields), body, and trailers (after the last chunk). In the head and trailer
// phases llhttp only ever sees at most the bytes left in the section budget, so the raw size of
// a section (CRLFs included) is bounded exactly, and those bytes are scanned here for bare CR,
// bare LF and obs-fold, which llhttp 8.1 accepts. llhttp is built with LLHTTP_STRICT_MODE
// (src/http/CMakeLists.txt); a unit test fails if it is not.
//
// Fields are not built from llhttp's per-field callbacks (four calls a field, each a piece to
// append): a section's bytes are copied into its HeaderMap as llhttp passes them, each field
// line is named where it lies as soon as it ends (scan_section), and once the section is
// complete the checks that need the fields run.
//
// Invariants: feed() never returns with llhttp paused; every pause is caused by one of our
// callbacks and named in event_; once failed_ is set it stays set and llhttp is never run
// again; body views handed out always lie inside the buffer passed to the current feed().
#include "http/parser.h"

#include <llhttp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace stavka::http {

namespace {

// llhttp must never see a null pointer: it rebases an open span onto the new buffer start.
constexpr char kEmptyInput[1] = {0};

constexpr const char* kObsFold = "obsolete line folding (obs-fold) in header section";
constexpr const char* kBareCr = "bare CR in header section";

// One allocation each covers the field index and the field bytes of most messages (the caller
// may move a head out, so the capacity cannot be relied on to survive between messages).
constexpr size_t kTypicalFields = 16;
constexpr size_t kTypicalFieldBytes = 512;
// A recycled parser keeps at most this much of a head's memory for the next one.
constexpr size_t kKeptFieldBytes = 16384;

enum class Phase : uint8_t { head, body, trailers };

// Why llhttp paused (set by the callback that returned HPE_PAUSED).
enum class Event : uint8_t { none, head_done, last_chunk, message_done };

}  // namespace

struct Http1Parser::Impl {
  Impl(Kind k, ParserLimits l) : kind(k), limits(l) {
    llhttp_init(&parser, k == Kind::request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
    parser.data = this;
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  llhttp_t parser;
  const Kind kind;
  const ParserLimits limits;
  RequestHead request;
  ResponseHead response;
  HeaderMap trailers;

  Phase phase = Phase::head;
  Event event = Event::none;
  size_t section_bytes = 0;  // raw bytes of the current head or trailer section so far
  char last_byte = '\n';     // last scanned byte of the section (CRLF precedes every section)
  size_t section_lines = 0;  // lines with content in the section so far (the start line too)
  size_t line_at = 0;        // where the section's current line starts in its HeaderMap
  bool section_ended = false;  // its blank line was seen: later bytes are not in it
  bool check_te = false;     // the response head just completed has a body: check its TE
  bool in_message = false;
  bool head_response = false;  // the next final response answers HEAD
  bool closed = false;         // finish_eof() was called
  bool failed = false;
  int error_status = 0;
  std::string error_message;
  std::vector<std::string_view>* body_out = nullptr;  // valid during feed()/finish_eof()

  static Impl& of(llhttp_t* p) { return *static_cast<Impl*>(p->data); }

  HeaderMap& fields() {
    if (phase == Phase::trailers) return trailers;
    return kind == Kind::request ? request.headers : response.headers;
  }

  // Records the first error; responses always map to 502. Returns HPE_USER for callbacks.
  int fail(int request_status, std::string message) {
    if (!failed) {
      failed = true;
      error_status = kind == Kind::request ? request_status : 502;
      error_message = std::move(message);
    }
    return HPE_USER;
  }

  void fail_llhttp(llhttp_errno_t err, const char* chunk, size_t len) {
    const char* reason = llhttp_get_error_reason(&parser);
    std::string_view why = reason != nullptr ? reason : "";
    int status = 400;
    std::string message;
    if (err == HPE_PAUSED_H2_UPGRADE) {
      status = 505;
      message = "HTTP/2 connection preface is not supported";
    } else {
      if (err == HPE_INVALID_METHOD) {
        // A token we do not know is an unimplemented method; anything else is garbage.
        const char* pos = llhttp_get_error_pos(&parser);
        if (pos >= chunk && pos < chunk + len && is_tchar(*pos)) status = 501;
      } else if (err == HPE_INVALID_VERSION && why == "Invalid HTTP version") {
        status = 505;
      }
      message.reserve(why.size() + 32);
      message.append(why).append(" (").append(llhttp_errno_name(err)).append(")");
    }
    fail(status, std::move(message));
  }

  void begin_message() {
    in_message = true;
    line_at = 0;
    section_ended = false;
    trailers.clear(kKeptFieldBytes);
    if (kind == Kind::request) {
      RequestHead& h = request;
      h.method.clear();
      h.target.clear();
      h.version_major = 1;
      h.version_minor = 1;
      h.headers.clear(kKeptFieldBytes);
      h.headers.reserve(kTypicalFields, kTypicalFieldBytes);
      h.framing = BodyFraming::none;
      h.content_length = 0;
      h.keep_alive = true;
      h.expect_continue = false;
    } else {
      ResponseHead& h = response;
      h.status = 0;
      h.reason.clear();
      h.version_major = 1;
      h.version_minor = 1;
      h.headers.clear(kKeptFieldBytes);
      h.headers.reserve(kTypicalFields, kTypicalFieldBytes);
      h.framing = BodyFraming::none;
      h.content_length = 0;
      h.keep_alive = true;
    }
  }

  void end_section_state(Phase next) {
    phase = next;
    section_bytes = 0;
    last_byte = '\n';
    section_lines = 0;
    line_at = 0;
    section_ended = false;
  }

  bool reject(const char* message) {
    fail(400, message);
    return false;
  }

  // Scans section bytes as if preceded by last_byte. Every LF must follow a CR and must not be
  // followed by SP/HTAB (obs-fold, or whitespace before the first field); a CR at the start of
  // a line must be followed by LF. llhttp strict mode rejects every other bare CR itself: the
  // ones it skips are the empty lines allowed before a request, which always start a line.
  // With a map (a message has begun), the bytes are also copied into it and each field line is
  // named there as it ends, and one field too many is refused as soon as its line ends.
  bool scan_section(HeaderMap* map, const char* p, size_t n) {
    if (n == 0) return true;
    const char* end = p + n;
    auto line_start_ok = [&](const char* at) {
      if (*at == ' ' || *at == '\t') return reject(kObsFold);
      if (*at == '\r' && at + 1 < end && at[1] != '\n') return reject(kBareCr);
      return true;
    };
    if (last_byte == '\r' && p[0] != '\n') return reject(kBareCr);
    if (last_byte == '\n' && !line_start_ok(p)) return false;
    size_t base = 0;  // where p lands in the map
    if (section_ended) map = nullptr;
    if (map != nullptr) {
      base = map->raw_size();
      map->append_raw(p, n);
    }
    const size_t first_field = phase == Phase::head ? 2 : 1;  // after the start line
    for (const char* q = p;;) {
      const char* lf = static_cast<const char*>(std::memchr(q, '\n', static_cast<size_t>(end - q)));
      if (lf == nullptr) break;
      char before = lf == p ? last_byte : lf[-1];
      if (before != '\r') return reject("bare LF in header section");
      q = lf + 1;
      if (map != nullptr) {
        const size_t next = base + static_cast<size_t>(q - p);
        if (next - line_at > 2) {  // a line with content (every line ends in CRLF)
          if (++section_lines >= first_field && !add_field(*map, next, first_field)) return false;
        } else if (section_lines + 1 >= first_field) {
          section_ended = true;  // its blank line: what follows is not in the section
          map = nullptr;
        }
        line_at = next;
      }
      if (q == end) break;
      if (!line_start_ok(q)) return false;
    }
    last_byte = end[-1];
    return true;
  }

  // Names the field line [line_at, next) of map. llhttp has checked its characters.
  bool add_field(HeaderMap& map, size_t next, size_t first_field) {
    if (section_lines - first_field + 1 > limits.max_headers) {
      fail(431, "more than " + std::to_string(limits.max_headers) +
                    (phase == Phase::trailers ? " trailer fields" : " header fields"));
      return false;
    }
    const char* line = map.raw_data() + line_at;
    const size_t content = next - line_at - 2;
    const void* colon = std::memchr(line, ':', content);
    const size_t name = colon ? static_cast<size_t>(static_cast<const char*>(colon) - line) : 0;
    if (name == 0) return reject("empty header field name");
    size_t from = name + 1, to = content;
    while (from < to && (line[from] == ' ' || line[from] == '\t')) ++from;
    while (to > from && (line[to - 1] == ' ' || line[to - 1] == '\t')) --to;
    map.add_raw_line(line_at, name, line_at + from, to - from, next - line_at);
    return true;
  }

  // Transfer-Encoding must be exactly one "chunked" coding, in HTTP/1.1 only: the proxy never
  // advertises other transfer codings (TE) and cannot re-serialise them, and RFC 9112 §6.1
  // makes Transfer-Encoding in an HTTP/1.0 message faulty framing.
  int check_transfer_encoding(const HeaderMap& headers, int minor) {
    size_t fields_seen = 0, codings = 0;
    bool only_chunked = true;
    for (const Header& f : headers) {
      if (f.known != KnownField::transfer_encoding) continue;
      ++fields_seen;
      for_each_token(f.value, [&](std::string_view coding) {
        ++codings;
        if (!iequals(coding, "chunked")) only_chunked = false;
      });
    }
    if (fields_seen == 0) return 0;
    if (minor == 0) return fail(400, "Transfer-Encoding in an HTTP/1.0 message");
    if (codings != 1 || !only_chunked) {
      return fail(400, "Transfer-Encoding must be exactly \"chunked\"");
    }
    return 0;
  }

  int complete_request_head() {
    RequestHead& h = request;
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(parser.method));
    h.version_major = parser.http_major;
    h.version_minor = parser.http_minor;
    if (h.version_major != 1 || h.version_minor > 1) {
      return fail(505, "unsupported HTTP version " + std::to_string(h.version_major) + "." +
                           std::to_string(h.version_minor));
    }
    if (parser.flags & F_CHUNKED) {
      h.framing = BodyFraming::chunked;
    } else if (parser.flags & F_CONTENT_LENGTH) {
      h.framing = BodyFraming::content_length;
      h.content_length = parser.content_length;
    }
    h.keep_alive = llhttp_should_keep_alive(&parser) != 0;
    event = Event::head_done;
    return HPE_PAUSED;
  }

  // After the fields of a head are named: the checks that look at them.
  bool check_fields() {
    if (kind == Kind::response) {
      return !check_te || check_transfer_encoding(response.headers, response.version_minor) == 0;
    }
    RequestHead& h = request;
    if (check_transfer_encoding(h.headers, h.version_minor) != 0) return false;
    size_t hosts = 0;
    bool expect_continue = false;
    for (const Header& f : h.headers) {
      if (f.known == KnownField::host) {
        ++hosts;
      } else if (f.known == KnownField::expect) {
        for_each_token(f.value, [&](std::string_view e) {
          if (iequals(e, "100-continue")) expect_continue = true;
        });
      }
    }
    if (hosts > 1) return reject("more than one Host field");
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
    h.expect_continue = expect_continue && h.version_minor == 1;
    return true;
  }

  int complete_response_head() {
    ResponseHead& h = response;
    h.status = parser.status_code;
    h.version_major = parser.http_major;
    h.version_minor = parser.http_minor;
    if (h.version_major != 1 || h.version_minor > 1) {
      return fail(502, "unsupported HTTP version " + std::to_string(h.version_major) + "." +
                           std::to_string(h.version_minor));
    }
    if (h.status < 100 || h.status > 599) {
      return fail(502, "invalid status code " + std::to_string(h.status));
    }
    bool informational = h.status < 200;
    bool no_body = informational || h.status == 204 || h.status == 304 || head_response;
    if (!informational) head_response = false;  // 1xx precede the final response to HEAD
    if (parser.flags & F_CONTENT_LENGTH) h.content_length = parser.content_length;
    if (no_body) {
      // Returning 1 from on_headers_complete is llhttp's "skip body" but cannot pause; the
      // flag is what that return value sets (llhttp 8.1 api.c / http.c), so set it and pause.
      parser.flags |= F_SKIPBODY;
      h.framing = BodyFraming::none;
      check_te = false;
    } else {
      check_te = true;  // once the fields are named (check_fields)
      if (parser.flags & F_CHUNKED) {
        h.framing = BodyFraming::chunked;
      } else if (parser.flags & F_CONTENT_LENGTH) {
        h.framing = BodyFraming::content_length;
      } else {
        h.framing = BodyFraming::until_close;
      }
    }
    h.keep_alive = llhttp_should_keep_alive(&parser) != 0;
    event = Event::head_done;
    return HPE_PAUSED;
  }

  // ---- llhttp callbacks -------------------------------------------------------------------

  static int on_message_begin(llhttp_t* p) {
    of(p).begin_message();
    return 0;
  }

  static int on_url(llhttp_t* p, const char* at, size_t n) {
    of(p).request.target.append(at, n);
    return 0;
  }

  static int on_status(llhttp_t* p, const char* at, size_t n) {
    of(p).response.reason.append(at, n);
    return 0;
  }

  static int on_headers_complete(llhttp_t* p) {
    Impl& s = of(p);
    return s.kind == Kind::request ? s.complete_request_head() : s.complete_response_head();
  }

  static int on_body(llhttp_t* p, const char* at, size_t n) {
    Impl& s = of(p);
    if (n != 0 && s.body_out != nullptr) s.body_out->emplace_back(at, n);
    return 0;
  }

  static int on_chunk_header(llhttp_t* p) {
    if (p->content_length != 0) return 0;
    of(p).event = Event::last_chunk;  // trailers follow; switch to section accounting
    return HPE_PAUSED;
  }

  static int on_message_complete(llhttp_t* p) {
    Impl& s = of(p);
    s.in_message = false;
    s.event = Event::message_done;
    return HPE_PAUSED;
  }

  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t table = [] {
      llhttp_settings_t t;
      llhttp_settings_init(&t);
      t.on_message_begin = &Impl::on_message_begin;
      t.on_url = &Impl::on_url;
      t.on_status = &Impl::on_status;
      t.on_headers_complete = &Impl::on_headers_complete;
      t.on_body = &Impl::on_body;
      t.on_chunk_header = &Impl::on_chunk_header;
      t.on_message_complete = &Impl::on_message_complete;
      return t;
    }();
    return table;
  }
};

Http1Parser::Http1Parser(Kind kind, ParserLimits limits)
    : impl_(std::make_unique<Impl>(kind, limits)) {}

Http1Parser::~Http1Parser() = default;

ParseResult Http1Parser::feed(std::string_view data) {
  Impl& s = *impl_;
  ParseResult r;
  if (!s.failed && s.closed) s.fail(400, "data fed after finish_eof()");
  if (s.failed) {
    r.state = ParseState::error;
    return r;
  }
  const char* base = data.empty() ? kEmptyInput : data.data();
  size_t off = 0;
  s.body_out = &r.body;
  for (;;) {
    const char* chunk = base + off;
    size_t avail = data.size() - off;
    bool sectioned = s.phase != Phase::body;
    size_t len = sectioned ? std::min(avail, s.limits.max_header_bytes - s.section_bytes) : avail;

    s.event = Event::none;
    llhttp_errno_t err = llhttp_execute(&s.parser, chunk, len);
    size_t used = len;
    if (err != HPE_OK) {
      const char* pos = llhttp_get_error_pos(&s.parser);
      used = (pos >= chunk && pos <= chunk + len) ? static_cast<size_t>(pos - chunk) : 0;
    }
    if (!s.failed && err != HPE_OK && err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
      s.fail_llhttp(err, chunk, len);
    }
    // Before a message begins (the empty lines allowed before a request) there is no map.
    HeaderMap* map = s.in_message || s.event == Event::message_done ? &s.fields() : nullptr;
    if (!s.failed && sectioned && s.scan_section(map, chunk, used)) {
      s.section_bytes += used;
    }
    off += used;
    if (s.failed) break;

    if (err == HPE_PAUSED_UPGRADE) {
      // Upgrade and CONNECT are not tunnelled by this codec: what follows is parsed as HTTP/1.
      llhttp_resume_after_upgrade(&s.parser);
      continue;
    }
    if (err == HPE_PAUSED) {
      llhttp_resume(&s.parser);
      switch (s.event) {
        case Event::head_done:
          if (!s.check_fields()) break;
          s.end_section_state(Phase::body);
          r.state = ParseState::head_done;
          r.consumed = off;
          s.body_out = nullptr;
          return r;
        case Event::last_chunk:
          s.end_section_state(Phase::trailers);
          continue;
        case Event::message_done:
          s.end_section_state(Phase::head);
          r.state = ParseState::message_done;
          r.consumed = off;
          s.body_out = nullptr;
          return r;
        case Event::none:
          s.fail(400, "internal error: llhttp paused without a reason");
          break;
      }
      break;
    }
    // HPE_OK: llhttp took the whole slice and wants more.
    if (sectioned && len < avail) {
      if (s.phase == Phase::trailers) {
        s.fail(431,
               "trailer section exceeds " + std::to_string(s.limits.max_header_bytes) + " bytes");
      } else {
        s.fail(431, (s.kind == Kind::request ? "request line and header fields exceed "
                                             : "status line and header fields exceed ") +
                        std::to_string(s.limits.max_header_bytes) + " bytes");
      }
      break;
    }
    r.state = ParseState::need_more;
    r.consumed = off;
    s.body_out = nullptr;
    return r;
  }
  s.body_out = nullptr;
  r.state = ParseState::error;
  r.consumed = off;
  r.body.clear();
  return r;
}

void Http1Parser::expect_head_response(bool head) {
  if (impl_->kind == Kind::response) impl_->head_response = head;
}

ParseResult Http1Parser::finish_eof() {
  Impl& s = *impl_;
  ParseResult r;
  if (!s.failed && s.closed) s.fail(400, "finish_eof() called twice");
  if (s.failed) {
    r.state = ParseState::error;
    return r;
  }
  s.closed = true;
  if (s.kind == Kind::request) {
    if (!s.in_message) return r;  // a clean close between requests: need_more, nothing pending
    s.fail(400, "connection closed before the request was complete");
    r.state = ParseState::error;
    return r;
  }
  if (s.in_message && s.phase == Phase::body && s.response.framing == BodyFraming::until_close) {
    s.event = Event::none;
    s.body_out = &r.body;
    llhttp_errno_t err = llhttp_finish(&s.parser);
    s.body_out = nullptr;
    if ((err == HPE_OK || err == HPE_PAUSED) && s.event == Event::message_done) {
      s.end_section_state(Phase::head);
      r.state = ParseState::message_done;
      return r;
    }
  }
  s.fail(502, s.in_message ? "connection closed before the response was complete"
                           : "connection closed before a response was received");
  r.state = ParseState::error;
  return r;
}

Http1Parser::Kind Http1Parser::kind() const { return impl_->kind; }

const RequestHead& Http1Parser::request() const {
  return impl_->request;
}
RequestHead& Http1Parser::request() {
  return impl_->request;
}
const ResponseHead& Http1Parser::response() const {
  return impl_->response;
}
ResponseHead& Http1Parser::response() {
  return impl_->response;
}
const HeaderMap& Http1Parser::trailers() const {
  return impl_->trailers;
}
bool Http1Parser::in_message() const {
  return impl_->in_message;
}
int Http1Parser::error_status() const {
  return impl_->failed ? impl_->error_status : 0;
}
const std::string& Http1Parser::error_message() const {
  return impl_->error_message;
}

}  // namespace stavka::http
