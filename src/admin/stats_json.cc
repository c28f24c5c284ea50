// The /metrics exposition as JSON: see stats_json.h.
#include "admin/stats_json.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "admin/json.h"

namespace stavka::admin {

namespace {

struct Sample {
  std::string_view labels;  // between the braces, as written
  std::string_view value;
};

void append_value(std::string& out, std::string_view v) {
  std::string ignored;
  std::optional<JsonValue> number = JsonValue::parse(v, &ignored);
  if (number && number->type() == JsonValue::Type::number) {
    out.append(v);
  } else {
    append_json_string(out, v);
  }
}

// name="value",... with the exposition's escapes (\\, \", \n) in values, as a JSON object.
void append_labels(std::string& out, std::string_view labels) {
  out.push_back('{');
  bool first = true;
  size_t i = 0;
  while (i < labels.size()) {
    size_t eq = labels.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= labels.size() || labels[eq + 1] != '"') break;
    std::string_view name = labels.substr(i, eq - i);
    std::string value;
    size_t j = eq + 2;
    for (; j < labels.size() && labels[j] != '"'; ++j) {
      if (labels[j] == '\\' && j + 1 < labels.size()) {
        ++j;
        value.push_back(labels[j] == 'n' ? '\n' : labels[j]);
      } else {
        value.push_back(labels[j]);
      }
    }
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, value);
    i = j + 1;
    if (i < labels.size() && labels[i] == ',') ++i;
  }
  out.push_back('}');
}

}  // namespace

std::string stats_json(std::string_view text) {
  // Samples by metric name, names in order of first appearance.
  std::vector<std::pair<std::string_view, std::vector<Sample>>> metrics;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    std::string_view name = line.substr(0, name_end);
    Sample s;
    size_t rest = name_end;
    if (line[name_end] == '{') {
      // The closing brace is the last one before the value (label values may hold braces).
      size_t close = line.rfind('}');
      if (close == std::string_view::npos || close < name_end) continue;
      s.labels = line.substr(name_end + 1, close - name_end - 1);
      rest = close + 1;
    }
    std::string_view value = line.substr(rest);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    value = value.substr(0, value.find(' '));  // a timestamp may follow
    s.value = value;
    auto it = std::find_if(metrics.begin(), metrics.end(),
                           [&](const auto& m) { return m.first == name; });
    if (it == metrics.end()) {
      metrics.emplace_back(name, std::vector<Sample>{s});
    } else {
      it->second.push_back(s);
    }
  }
  std::string out = "{\"metrics\":{";
  for (size_t m = 0; m < metrics.size(); ++m) {
    if (m) out.push_back(',');
    append_json_string(out, metrics[m].first);
    out.push_back(':');
    const std::vector<Sample>& samples = metrics[m].second;
    if (samples.size() == 1 && samples[0].labels.empty()) {
      append_value(out, samples[0].value);
      continue;
    }
    out.push_back('[');
    for (size_t i = 0; i < samples.size(); ++i) {
      if (i) out.push_back(',');
      out.append("{\"labels\":");
      append_labels(out, samples[i].labels);
      out.append(",\"value\":");
      append_value(out, samples[i].value);
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.append("}}\n");
  return out;
}

}  // namespace stavka::admin
