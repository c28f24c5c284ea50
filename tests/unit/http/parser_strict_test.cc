// Http1Parser strictness: every malformed or ambiguous input is rejected with its status.
//
// Single-threaded GoogleTest cases. Each input is tried whole, one byte at a time and in
// 3-byte pieces, so a check cannot depend on where a read happens to split the input.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "parse_driver.h"

namespace stavka::http {
namespace {

using testing::drive;
using testing::drive_request;
using Kind = Http1Parser::Kind;

struct StrictCase {
  const char* name;
  std::string wire;
  int status;
  const char* message_part;  // substring of error_message()
};

void PrintTo(const StrictCase& c, std::ostream* os) {
  *os << c.name;
}

const std::string kChunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

std::vector<StrictCase> request_cases() {
  return {
      // Framing.
      {"ContentLengthAndTransferEncoding",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "Content-Length can't be present with Transfer-Encoding"},
      {"TransferEncodingAndContentLength",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400,
       "Content-Length can't be present with Transfer-Encoding"},
      {"DuplicateContentLengthSameValue",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400,
       "Duplicate Content-Length"},
      {"DuplicateContentLengthDifferent",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
       "Duplicate Content-Length"},
      {"ContentLengthList", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400,
       "Invalid character in Content-Length"},
      {"ContentLengthLetters", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400,
       "Invalid character in Content-Length"},
      {"ContentLengthPlus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400,
       "Invalid character in Content-Length"},
      {"ContentLengthNegative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400,
       "Invalid character in Content-Length"},
      {"ContentLengthEmpty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400,
       "Empty Content-Length"},
      {"ContentLengthOverflow",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400,
       "Content-Length overflow"},
      {"TransferEncodingGzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingGzipChunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingChunkedGzip",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
       "Transfer-Encoding"},
      {"TransferEncodingChunkedTwice",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       400, "Transfer-Encoding"},
      {"TransferEncodingIdentity",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 400,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingEmpty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingInHttp10",
       "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "Transfer-Encoding in an HTTP/1.0 message"},
      // Field syntax.
      {"ObsFoldSpace", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n", 400, "obs-fold"},
      {"ObsFoldTab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n\ttwo\r\n\r\n", 400, "obs-fold"},
      {"ObsFoldAfterEmptyValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A:\r\n two\r\n\r\n", 400,
       "obs-fold"},
      {"WhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, ""},
      {"SpaceInFieldName", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, "Invalid header token"},
      {"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "Invalid header token"},
      {"ParenInFieldName", "GET / HTTP/1.1\r\nX(y): a\r\n\r\n", 400, "Invalid header token"},
      {"ControlInFieldName", std::string("GET / HTTP/1.1\r\nX\x01: a\r\n\r\n"), 400,
       "Invalid header token"},
      {"EmptyFieldName", "GET / HTTP/1.1\r\nHost: a\r\n: a\r\n\r\n", 400,
       "empty header field name"},
      {"ControlInFieldValue", std::string("GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n"), 400,
       "Invalid header value char"},
      {"DelInFieldValue", std::string("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), 400,
       "Invalid header value char"},
      {"NulInFieldValue", std::string("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26), 400,
       "Invalid header value char"},
      {"DuplicateHost", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "more than one Host field"},
      // Line endings.
      {"BareCrInValue", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, "LF"},
      {"BareCrAfterValue", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", 400, "LF"},
      {"BareCrInRequestLine", "GET /\r HTTP/1.1\r\n\r\n", 400, ""},
      {"BareCrAfterMethod", "GET\r/ HTTP/1.1\r\n\r\n", 400, ""},
      {"BareCrBeforeRequest", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare CR"},
      {"BareCrEndingHead", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400, ""},
      {"BareCrBeforeValue", "GET / HTTP/1.1\r\nX:\r a\r\n\r\n", 400, ""},
      {"BareCrAfterOws", "GET / HTTP/1.1\r\nX: \rb\r\n\r\n", 400, ""},
      {"BareCrInName", "GET / HTTP/1.1\r\nX\r: b\r\n\r\n", 400, ""},
      {"BareCrAfterVersion", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400, ""},
      {"BareCrAfterEmptyLine", "\r\n\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare CR"},
      {"BareCrAtLineStart", "GET / HTTP/1.1\r\n\rHost: a\r\n\r\n", 400, ""},
      {"BareLfAfterRequestLine", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF"},
      {"BareLfEndingHead", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF"},
      {"BareLfBeforeRequest", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF"},
      // Request line.
      {"SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "Expected HTTP/"},
      {"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "url"},
      {"TrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400,
       "Expected CRLF after version"},
      {"UnknownMethod", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "Invalid method"},
      {"LowercaseMethod", "get / HTTP/1.1\r\nHost: a\r\n\r\n", 501, "Invalid method"},
      {"BinaryGarbage", std::string("\x16\x03\x01\x02\x00", 5), 400, "Invalid method"},
      {"Http2Version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version 2.0"},
      {"Http12Version", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "Invalid HTTP version"},
      {"Http09Version", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "unsupported HTTP version 0.9"},
      {"Http2Preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2 connection preface"},
      // Chunked body.
      {"ChunkSizeNotHex", kChunkedHead + "zz\r\nhello\r\n0\r\n\r\n", 400,
       "Invalid character in chunk size"},
      {"ChunkSizeNegative", kChunkedHead + "-5\r\nhello\r\n0\r\n\r\n", 400,
       "Invalid character in chunk size"},
      {"ChunkSizeEmpty", kChunkedHead + "\r\nhello\r\n0\r\n\r\n", 400, "chunk size"},
      {"ChunkSizeOverflow", kChunkedHead + "fffffffffffffffff\r\n", 400, "Chunk size overflow"},
      {"ChunkSizeTrailingSpace", kChunkedHead + "5 \r\nhello\r\n0\r\n\r\n", 400, "chunk size"},
      {"ChunkSizeBareLf", kChunkedHead + "5\nhello\r\n0\r\n\r\n", 400, "chunk size"},
      {"ChunkSizeBareCr", kChunkedHead + "5\rhello\r\n0\r\n\r\n", 400, ""},
      {"ChunkDataTooLong", kChunkedHead + "5\r\nhelloXX\r\n0\r\n\r\n", 400,
       "Expected CRLF after chunk"},
      {"ChunkDataBareLf", kChunkedHead + "5\r\nhello\n0\r\n\r\n", 400, "Expected CRLF after chunk"},
      // llhttp 8.1 limitation: a second extension after a valued one is rejected.
      {"ChunkTwoExtensions", kChunkedHead + "5;a=b;c=d\r\nhello\r\n0\r\n\r\n", 400, "chunk size"},
      {"ChunkExtensionSpace", kChunkedHead + "5; a=b\r\nhello\r\n0\r\n\r\n", 400,
       "chunk extensions"},
      {"TrailerObsFold", kChunkedHead + "0\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"},
      {"TrailerBareLf", kChunkedHead + "0\r\nX: a\n\r\n", 400, ""},
      {"TrailerEndBareLf", kChunkedHead + "0\r\n\n", 400, "bare LF"},
      {"TrailerBareCr", kChunkedHead + "0\r\nX: a\rb\r\n\r\n", 400, "LF"},
      {"TrailerLeadingBareCr", kChunkedHead + "0\r\n\rX: a\r\n\r\n", 400, ""},
      {"TrailerEndBareCr", kChunkedHead + "0\r\nX: a\r\n\r\r\n", 400, ""},
      {"TrailerBadName", kChunkedHead + "0\r\nX y: a\r\n\r\n", 400, "Invalid header token"},
  };
}

class RequestStrictness : public ::testing::TestWithParam<StrictCase> {};

TEST_P(RequestStrictness, RejectedWithStatus) {
  const StrictCase& c = GetParam();
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}}) {
    auto run = drive_request(c.wire, step);
    EXPECT_EQ(run.final_state, ParseState::error) << "step " << step;
    EXPECT_EQ(run.error_status, c.status) << "step " << step << ": " << run.error_message;
    EXPECT_NE(run.error_message.find(c.message_part), std::string::npos)
        << "step " << step << ": " << run.error_message;
  }
}

INSTANTIATE_TEST_SUITE_P(All, RequestStrictness, ::testing::ValuesIn(request_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The same inputs, turned into responses where it makes sense, always map to 502.
class ResponseStrictness : public ::testing::TestWithParam<StrictCase> {};

std::vector<StrictCase> response_cases() {
  const std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  return {
      {"ContentLengthAndTransferEncoding",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 502,
       "Content-Length can't be present with Transfer-Encoding"},
      {"DuplicateContentLength",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 502,
       "Duplicate Content-Length"},
      {"MalformedContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc", 502,
       "Content-Length"},
      {"TransferEncodingGzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", 502,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingGzipChunked",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 502,
       "Transfer-Encoding must be exactly \"chunked\""},
      {"TransferEncodingInHttp10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       502, "Transfer-Encoding in an HTTP/1.0 message"},
      {"ObsFold", "HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n", 502,
       "obs-fold"},
      {"BadFieldName", "HTTP/1.1 200 OK\r\nX y: a\r\nContent-Length: 0\r\n\r\n", 502,
       "Invalid header token"},
      {"BareCrInReason", "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", 502, ""},
      {"BareLf", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 502, "bare LF"},
      {"BareCrAfterStatus", "HTTP/1.1 200\rOK\r\nContent-Length: 0\r\n\r\n", 502, ""},
      {"BareCrAfterVersion", "HTTP/1.1\r200 OK\r\nContent-Length: 0\r\n\r\n", 502, ""},
      {"BareCrBeforeResponse", "\rHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 502, ""},
      {"BareCrEndingHead", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\r\n", 502, ""},
      {"StatusTooLarge", "HTTP/1.1 999 Odd\r\nContent-Length: 0\r\n\r\n", 502,
       "invalid status code 999"},
      {"StatusTwoDigits", "HTTP/1.1 20 Odd\r\nContent-Length: 0\r\n\r\n", 502,
       "invalid status code 20"},
      {"Http2Version", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", 502,
       "unsupported HTTP version 2.0"},
      {"NotHttp", "SSH-2.0-OpenSSH_9.2\r\n", 502, ""},
      {"BadChunkSize", chunked + "xyz\r\n", 502, "Invalid character in chunk size"},
      {"ChunkDataTooLong", chunked + "2\r\nabc\r\n0\r\n\r\n", 502, "Expected CRLF after chunk"},
      {"TrailerObsFold", chunked + "0\r\nX: a\r\n\tb\r\n\r\n", 502, "obs-fold"},
      {"DataAfterConnectionClose",
       "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nHTTP/1.1", 502,
       "Connection: close"},
  };
}

TEST_P(ResponseStrictness, RejectedWith502) {
  const StrictCase& c = GetParam();
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}}) {
    Http1Parser p(Kind::response);
    auto run = drive(p, c.wire, step);
    EXPECT_EQ(run.final_state, ParseState::error) << "step " << step;
    EXPECT_EQ(run.error_status, c.status) << "step " << step << ": " << run.error_message;
    EXPECT_NE(run.error_message.find(c.message_part), std::string::npos)
        << "step " << step << ": " << run.error_message;
  }
}

INSTANTIATE_TEST_SUITE_P(All, ResponseStrictness, ::testing::ValuesIn(response_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// llhttp must be compiled with LLHTTP_STRICT_MODE=1 (src/http/CMakeLists.txt). The loose build
// accepts every one of these, each a known request-smuggling vector.
TEST(LlhttpStrictMode, LooseModeOnlyInputsAreRejected) {
  EXPECT_EQ(drive_request(kChunkedHead + "5\r\nhelloXX0\r\n\r\n").error_status, 400);
  EXPECT_EQ(drive_request(kChunkedHead + "5\rhello\r\n0\r\n\r\n").error_status, 400);
  EXPECT_EQ(drive_request("GET / HTTP/1.1\r\nHost : a\r\n\r\n").error_status, 400);
  EXPECT_EQ(drive_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                          "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .error_status,
            400);
}

// Accepted edge cases next to the rejected ones, so the checks are not over-eager.
TEST(StrictnessBoundaries, ValidNeighboursAreAccepted) {
  auto ok = [](const std::string& wire) {
    auto run = drive_request(wire, 1);
    EXPECT_EQ(run.final_state, ParseState::need_more) << wire << ": " << run.error_message;
    EXPECT_EQ(run.messages.size(), 1u) << wire;
  };
  ok("GET / HTTP/1.1\r\nHost: a\r\nX-A: one two\t three\r\n\r\n");    // inner whitespace
  ok("GET / HTTP/1.1\r\nHost: a\r\nX-A: \"quoted, value\"\r\n\r\n");  // quotes/commas
  ok("GET / HTTP/1.1\r\nHost: a\r\nX!#$%&'*+-.^_`|~: v\r\n\r\n");     // all tchars
  ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 \r\n\r\nabc");  // OWS after length
  ok("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc");
  ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
  ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
     "chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n");
  ok("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0005;ext\r\nhello\r\n0;last=\"yes\"\r\n\r\n");
  ok("GET / HTTP/1.1\r\n\r\n");                     // missing Host is left to the proxy
  ok("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");  // empty lines before a request
}

}  // namespace
}  // namespace stavka::http
