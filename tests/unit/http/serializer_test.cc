// Serializer output, byte for byte, and a round trip through the parser.
//
// Single-threaded GoogleTest cases on plain values.
#include "http/serializer.h"

#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_driver.h"

namespace stavka::http {
namespace {

RequestHead request(const char* method, const char* target) {
  RequestHead h;
  h.method = method;
  h.target = target;
  return h;
}

ResponseHead response(int status, BodyFraming framing, uint64_t length = 0) {
  ResponseHead h;
  h.status = status;
  h.framing = framing;
  h.content_length = length;
  return h;
}

std::string request_bytes(const RequestHead& h) {
  std::string out;
  serialize_request_head(h, out);
  return out;
}

std::string response_bytes(const ResponseHead& h) {
  std::string out;
  serialize_response_head(h, out);
  return out;
}

TEST(SerializeRequest, NoBody) {
  RequestHead h = request("GET", "/a?b=c");
  h.headers.add("Host", "example.com");
  h.headers.add("Accept", "*/*");
  EXPECT_EQ(request_bytes(h), "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
}

TEST(SerializeRequest, FramingComesFromHeadNotFromFields) {
  RequestHead h = request("POST", "/up");
  h.headers.add("Host", "a");
  h.headers.add("Content-Length", "999");
  h.headers.add("transfer-encoding", "gzip, chunked");
  h.framing = BodyFraming::content_length;
  h.content_length = 42;
  EXPECT_EQ(request_bytes(h), "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n");
  h.framing = BodyFraming::chunked;
  EXPECT_EQ(request_bytes(h), "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  h.framing = BodyFraming::none;
  EXPECT_EQ(request_bytes(h), "POST /up HTTP/1.1\r\nHost: a\r\n\r\n");
  h.framing = BodyFraming::content_length;
  h.content_length = 0;
  EXPECT_EQ(request_bytes(h), "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeRequest, HttpVersionIsAlways11AndKeepAliveIsNotConsulted) {
  RequestHead h = request("GET", "/");
  h.version_minor = 0;
  h.keep_alive = false;
  EXPECT_EQ(request_bytes(h), "GET / HTTP/1.1\r\n\r\n");
}

TEST(FieldsOfWrittenHead, GivesTheFieldsButFramingAndConnection) {
  ResponseHead head;
  head.status = 206;
  head.headers.add("X-A", "1");
  head.headers.add("Cache-Status", "edge; hit, stavka; hit");
  head.headers.add("X-Empty", "");
  head.headers.add("X-Colon", "a: b");
  head.framing = BodyFraming::content_length;
  head.content_length = 5;
  head.keep_alive = false;
  std::string out;
  serialize_response_head(head, out);
  ASSERT_NE(out.find("Connection: close"), std::string::npos);
  HeaderMap fields;
  fields.add("X-Before", "0");  // appended to, not replaced
  fields_of_written_head(out, fields);
  ASSERT_EQ(fields.size(), 5u);
  std::vector<Header> want = {{"X-Before", "0"}, {"X-A", "1"},
                              {"Cache-Status", "edge; hit, stavka; hit"}, {"X-Empty", ""},
                              {"X-Colon", "a: b"}};
  size_t i = 0;
  for (const Header& h : fields) {
    EXPECT_EQ(h.name, want[i].name);
    EXPECT_EQ(h.value, want[i].value);
    ++i;
  }
  HeaderMap chunked;
  fields_of_written_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n", chunked);
  ASSERT_EQ(chunked.size(), 1u);
  EXPECT_EQ(*chunked.find("x-b"), "2");
}

TEST(SerializeResponse, ContentLength) {
  ResponseHead h = response(200, BodyFraming::content_length, 1234);
  h.headers.add("Content-Type", "text/html");
  h.headers.add("Content-Length", "1");  // ignored
  EXPECT_EQ(response_bytes(h),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n\r\n");
}

TEST(SerializeResponse, ReasonFromHeadOrTable) {
  ResponseHead h = response(404, BodyFraming::content_length, 0);
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  h.reason = "Nope";
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n");
  ResponseHead odd = response(299, BodyFraming::content_length, 0);
  EXPECT_EQ(response_bytes(odd), "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n\r\n");
}

TEST(SerializeResponse, Chunked) {
  ResponseHead h = response(200, BodyFraming::chunked);
  h.headers.add("Transfer-Encoding", "chunked");  // ignored, written once from framing
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(SerializeResponse, NoneMeansEmptyBodyExceptWhereNoLengthIsAllowed) {
  EXPECT_EQ(response_bytes(response(200, BodyFraming::none)),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(response_bytes(response(204, BodyFraming::none)), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_bytes(response(304, BodyFraming::none)), "HTTP/1.1 304 Not Modified\r\n\r\n");
  EXPECT_EQ(response_bytes(response(100, BodyFraming::none)), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(SerializeResponse, NoLengthFieldOn1xxAnd204WhateverTheFraming) {
  EXPECT_EQ(response_bytes(response(204, BodyFraming::content_length, 5)),
            "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_bytes(response(204, BodyFraming::chunked)), "HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_EQ(response_bytes(response(103, BodyFraming::content_length, 5)),
            "HTTP/1.1 103 Early Hints\r\n\r\n");
}

TEST(SerializeResponse, HeadAnd304KeepADeclaredLengthViaContentLengthFraming) {
  // A response to HEAD: the caller passes the length of the GET body and sends no body.
  EXPECT_EQ(response_bytes(response(200, BodyFraming::content_length, 5000)),
            "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(response_bytes(response(304, BodyFraming::content_length, 5000)),
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\n\r\n");
}

TEST(SerializeResponse, UntilCloseWritesNoLengthAndCloses) {
  ResponseHead h = response(200, BodyFraming::until_close);
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  h.keep_alive = false;
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

TEST(SerializeResponse, ConnectionClose) {
  ResponseHead h = response(200, BodyFraming::content_length, 2);
  h.keep_alive = false;
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
  h.headers.add("connection", "Close");
  EXPECT_EQ(response_bytes(h), "HTTP/1.1 200 OK\r\nconnection: Close\r\nContent-Length: 2\r\n\r\n");
  ResponseHead other = response(200, BodyFraming::content_length, 2);
  other.keep_alive = false;
  other.headers.add("Connection", "x-custom");
  EXPECT_EQ(response_bytes(other),
            "HTTP/1.1 200 OK\r\nConnection: x-custom\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n");
  ResponseHead interim = response(100, BodyFraming::none);
  interim.keep_alive = false;
  EXPECT_EQ(response_bytes(interim), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(SerializeResponse, AppendsToExistingOutput) {
  std::string out = "prefix|";
  serialize_response_head(response(204, BodyFraming::none), out);
  EXPECT_EQ(out, "prefix|HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(Chunks, HeaderAndLastChunk) {
  std::string out;
  append_chunk_header(5, out);
  EXPECT_EQ(out, "5\r\n");
  out.clear();
  append_chunk_header(255, out);
  EXPECT_EQ(out, "ff\r\n");
  out.clear();
  append_chunk_header(0x1234abcdULL, out);
  EXPECT_EQ(out, "1234abcd\r\n");
  out.clear();
  append_chunk_header(UINT64_MAX, out);
  EXPECT_EQ(out, "ffffffffffffffff\r\n");
  out.clear();
  append_chunk_header(0, out);
  EXPECT_EQ(out, "");

  HeaderMap none;
  append_last_chunk(none, out);
  EXPECT_EQ(out, "0\r\n\r\n");
  HeaderMap trailers;
  trailers.add("X-Checksum", "abc");
  trailers.add("Content-Length", "5");  // dropped
  trailers.add("Expires", "never");
  out = "x";
  append_last_chunk(trailers, out);
  EXPECT_EQ(out, "x0\r\nX-Checksum: abc\r\nExpires: never\r\n\r\n");
}

TEST(RoundTrip, SerializedMessagesParseBackIdentically) {
  RequestHead req = request("POST", "/r");
  req.headers.add("Host", "h");
  req.headers.add("X-List", "a, b");
  req.framing = BodyFraming::chunked;
  std::string wire;
  serialize_request_head(req, wire);
  append_chunk_header(3, wire);
  wire += "abc\r\n";
  HeaderMap trailers;
  trailers.add("T", "1");
  append_last_chunk(trailers, wire);

  auto run = testing::drive_request(wire, 1);
  ASSERT_EQ(run.messages.size(), 1u) << run.error_message;
  const RequestHead& got = run.at(0).request;
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/r");
  EXPECT_EQ(got.framing, BodyFraming::chunked);
  EXPECT_EQ(*got.headers.find("x-list"), "a, b");
  EXPECT_EQ(run.at(0).body, "abc");
  EXPECT_EQ(*run.at(0).trailers.find("t"), "1");

  ResponseHead res = response(206, BodyFraming::content_length, 4);
  res.headers.add("Content-Range", "bytes 0-3/10");
  std::string rwire;
  serialize_response_head(res, rwire);
  rwire += "0123";
  Http1Parser p(Http1Parser::Kind::response);
  auto rrun = testing::drive(p, rwire);
  ASSERT_EQ(rrun.messages.size(), 1u) << rrun.error_message;
  EXPECT_EQ(rrun.at(0).response.status, 206);
  EXPECT_EQ(rrun.at(0).response.reason, "Partial Content");
  EXPECT_EQ(rrun.at(0).body, "0123");
}

}  // namespace
}  // namespace stavka::http
