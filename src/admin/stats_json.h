// GET /api/v1/stats: the /metrics exposition as JSON, made from that text so that both always
// say the same thing:
//
//   {"metrics": {"stavka_requests_total": 12,
//                "stavka_cache_objects": [{"labels": {"tier": "memory"}, "value": 3}, ...]}}
//
// A metric without labels is its value; one with labels is the list of its samples, in the
// exposition's order. Values are JSON numbers (a value that is not one, such as NaN, is a
// string). Pure function.
#pragma once

#include <string>
#include <string_view>

namespace stavka::admin {

std::string stats_json(std::string_view prometheus_text);

}  // namespace stavka::admin
