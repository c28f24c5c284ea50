// Prefetch jobs: see prefetch.h.
#include "admin/prefetch.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "admin/json.h"
#include "cache/cache_key.h"
#include "http/parser.h"
#include "net/address.h"
#include "runtime/io.h"
#include "runtime/log.h"
#include "runtime/task.h"

namespace stavka::admin {

namespace {

constexpr unsigned default_concurrency = 8;
constexpr unsigned max_concurrency = 64;
constexpr size_t kept_jobs = 100;
constexpr size_t kept_failures = 20;
constexpr auto fetch_timeout = std::chrono::seconds(60);  // per read or write, not per URL

using Job = PrefetchJobs::Job;
using runtime::Task;

// One lane's connection to the proxy, kept while the proxy keeps it alive.
struct Lane {
  std::shared_ptr<Job> job;
  net::SocketAddress proxy;
  int fd = -1;
  std::unique_ptr<http::Http1Parser> parser;  // the connection's
  runtime::Buffer carry;

  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    carry.release();
  }
};

// GETs `url` through the proxy on lane's connection (a new one when it has none); the body bytes
// read, or nullopt with *error. *stale: the failure came on a kept connection before any byte
// of an answer (the proxy closed it while it was idle): worth one more try on a new one.
Task<std::optional<uint64_t>> fetch(Lane& lane, const std::string& url, std::string* error,
                                    bool* stale) {
  *stale = false;
  const bool reused = lane.fd >= 0;
  std::optional<cache::RequestUrl> u = cache::request_url("http", "", url);
  if (!u) {
    *error = "not an absolute http(s) URL";
    co_return std::nullopt;
  }
  if (lane.fd < 0) {
    lane.fd = ::socket(lane.proxy.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lane.fd < 0) {
      *error = std::string("socket: ") + std::strerror(errno);
      co_return std::nullopt;
    }
    int r = co_await runtime::connect(lane.fd, lane.proxy.get(), lane.proxy.length,
                                      fetch_timeout);
    if (r < 0) {
      *error = "cannot connect to the proxy at " + lane.proxy.text() + ": " + std::strerror(-r);
      lane.close();
      co_return std::nullopt;
    }
    lane.parser = std::make_unique<http::Http1Parser>(http::Http1Parser::Kind::response);
  }
  const std::string request = "GET " + u->path + u->query + " HTTP/1.1\r\nHost: " +
                              u->authority + "\r\nUser-Agent: stavka-prefetch\r\n\r\n";
  if (co_await runtime::send_all(lane.fd, request, fetch_timeout) < 0) {
    *error = "the proxy closed the connection";
    *stale = reused;
    lane.close();
    co_return std::nullopt;
  }
  uint64_t bytes = 0;
  while (true) {
    if (!lane.carry || lane.carry.remaining() == 0) {
      lane.carry.release();
      runtime::RecvResult r = co_await runtime::recv(lane.fd, fetch_timeout);
      if (r.bytes <= 0) {
        *stale = reused && r.bytes == 0 && !lane.parser->in_message();
        http::ParseResult end = lane.parser->finish_eof();
        lane.close();
        if (end.state == http::ParseState::message_done) break;
        *error = r.bytes == 0 ? "the answer was cut short" : "no answer in time";
        co_return std::nullopt;
      }
      lane.carry = std::move(r.buffer);
    }
    http::ParseResult p = lane.parser->feed(lane.carry.view());
    lane.carry.consume(p.consumed);
    for (std::string_view piece : p.body) bytes += piece.size();
    if (p.state == http::ParseState::error) {
      *error = "malformed answer: " + lane.parser->error_message();
      lane.close();
      co_return std::nullopt;
    }
    if (p.state == http::ParseState::message_done) break;
  }
  const int status = lane.parser->response().status;
  if (lane.fd >= 0 && !lane.parser->response().keep_alive) lane.close();
  if (status == 304 || (status >= 200 && status < 300)) co_return bytes;
  *error = "status " + std::to_string(status);
  co_return std::nullopt;
}

Task<void> run_lane(std::shared_ptr<Job> job, net::SocketAddress proxy) {
  Lane lane;
  lane.job = job;
  lane.proxy = proxy;
  ++job->all_lanes->running;
  while (job->next < job->urls.size() && !job->all_lanes->stopping) {
    const std::string& url = job->urls[job->next++];
    std::string error;
    bool stale = false;
    std::optional<uint64_t> bytes = co_await fetch(lane, url, &error, &stale);
    if (!bytes && stale) bytes = co_await fetch(lane, url, &error, &stale);
    ++job->done;
    if (bytes) {
      job->bytes += *bytes;
    } else {
      ++job->errors;
      if (job->failed.size() < kept_failures) job->failed.emplace_back(url, error);
    }
  }
  lane.close();
  --job->all_lanes->running;
  if (--job->lanes > 0) co_return;
  job->finished = std::chrono::steady_clock::now();
  if (job->next < job->urls.size()) {
    runtime::log(runtime::LogLevel::info,
                 "prefetch job %llu stopped by the shutdown after %zu of %zu URLs",
                 static_cast<unsigned long long>(job->id), job->done, job->urls.size());
  }
}

void job_json(const Job& job, std::string& out) {
  const bool running = job.lanes > 0;
  const auto end = running ? std::chrono::steady_clock::now() : job.finished;
  out += "{\"id\":" + std::to_string(job.id) + ",\"kind\":\"prefetch\",\"state\":\"" +
         (running ? "running" : "done") + "\",\"total\":" + std::to_string(job.urls.size()) +
         ",\"done\":" + std::to_string(job.done) + ",\"bytes\":" + std::to_string(job.bytes) +
         ",\"errors\":" + std::to_string(job.errors) + ",\"failed\":[";
  for (size_t i = 0; i < job.failed.size(); ++i) {
    if (i) out += ',';
    out += "{\"url\":";
    append_json_string(out, job.failed[i].first);
    out += ",\"error\":";
    append_json_string(out, job.failed[i].second);
    out += '}';
  }
  out += "],\"elapsed_ms\":" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(end - job.started)
                            .count()) +
         "}\n";
}

}  // namespace

ApiResponse PrefetchJobs::handle_start(std::string_view method, std::string_view body) {
  if (method != "POST") {
    ApiResponse r = json_error(405, "method_not_allowed", "a prefetch is a POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  std::string error;
  std::optional<JsonValue> doc = JsonValue::parse(body, &error);
  if (!doc) return json_error(400, "bad_json", "the body is not JSON: " + error);
  if (!doc->is_object()) return json_error(400, "bad_request", "the body must be a JSON object");
  for (const auto& [name, value] : doc->members()) {
    if (name != "urls" && name != "concurrency") {
      return json_error(400, "unknown_field", "unknown field '" + name + "' (urls, concurrency)");
    }
  }
  const JsonValue& urls = (*doc)["urls"];
  if (!urls.is_array() || urls.items().empty() || urls.items().size() > max_prefetch_urls) {
    return json_error(400, "bad_request",
                      "'urls' must be an array of 1 to " + std::to_string(max_prefetch_urls) +
                          " URLs");
  }
  unsigned concurrency = default_concurrency;
  if (doc->has("concurrency")) {
    const double c = (*doc)["concurrency"].number_or(0);
    if ((*doc)["concurrency"].type() != JsonValue::Type::number || c < 1 || c > max_concurrency ||
        c != static_cast<unsigned>(c)) {
      return json_error(400, "bad_request",
                        "'concurrency' must be a whole number from 1 to " +
                            std::to_string(max_concurrency));
    }
    concurrency = static_cast<unsigned>(c);
  }
  auto job = std::make_shared<Job>();
  for (const JsonValue& item : urls.items()) {
    std::string url = item.string_or("");
    if (item.type() != JsonValue::Type::string || !cache::request_url("http", "", url)) {
      return json_error(400, "bad_url", "not an absolute http(s) URL: '" + url + "'");
    }
    job->urls.push_back(std::move(url));
  }
  job->id = next_id_++;
  job->all_lanes = lanes_;
  job->started = std::chrono::steady_clock::now();
  job->lanes = static_cast<unsigned>(std::min<size_t>(concurrency, job->urls.size()));
  jobs_.push_back(job);
  if (jobs_.size() > kept_jobs) jobs_.pop_front();
  for (unsigned i = 0, n = job->lanes; i < n; ++i) runtime::spawn(run_lane(job, proxy_));
  ApiResponse r;
  r.status = 202;
  r.body = "{\"job\":" + std::to_string(job->id) + ",\"total\":" +
           std::to_string(job->urls.size()) + ",\"href\":\"" + std::string(jobs_prefix) +
           std::to_string(job->id) + "\"}\n";
  return r;
}

ApiResponse PrefetchJobs::handle_status(std::string_view path) const {
  std::string_view id_text = path.substr(jobs_prefix.size());
  uint64_t id = 0;
  for (char c : id_text) {
    if (c < '0' || c > '9' || id > UINT64_MAX / 10) return json_error(404, "no_such_job", "no such job");
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  for (const std::shared_ptr<Job>& job : jobs_) {
    if (job->id == id && !id_text.empty()) {
      ApiResponse r;
      job_json(*job, r.body);
      return r;
    }
  }
  return json_error(404, "no_such_job",
                    "no job " + std::string(id_text) + " (the last 100 jobs are kept)");
}

}  // namespace stavka::admin
