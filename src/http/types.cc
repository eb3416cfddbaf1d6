#include "http/types.h"

#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

namespace lattice::http {

std::optional<std::string> RequestContext::QueryParam(std::string_view name) const {
  const std::string target = "/?" + std::string(query);
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  auto params = parsed->params();
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

std::string_view RequestContext::BearerToken() const {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return {};
  std::string_view v = it->value();
  constexpr std::string_view kScheme = "Bearer ";
  if (v.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return {};
  }
  v.remove_prefix(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

Reply JsonReply(bhttp::status status, const boost::json::value& body) {
  Reply r;
  r.res.result(status);
  r.res.set(bhttp::field::content_type, "application/json");
  r.res.body() = boost::json::serialize(body);
  return r;
}

Reply EmptyReply(bhttp::status status) {
  Reply r;
  r.res.result(status);
  return r;
}

Reply TextReply(bhttp::status status, std::string body, std::string_view content_type) {
  Reply r;
  r.res.result(status);
  r.res.set(bhttp::field::content_type, content_type);
  r.res.body() = std::move(body);
  return r;
}

}  // namespace lattice::http
