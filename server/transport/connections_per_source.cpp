#include "server/transport/connections_per_source.hpp"

#include <stdexcept>

namespace loopchat {

ConnectionsPerSource::ConnectionsPerSource(std::size_t limit,
                                           const std::vector<std::string>& exempt_cidrs)
    : limit_(limit) {
  for (const auto& text : exempt_cidrs) {
    std::string error;
    auto cidr = parse_cidr(text, error);
    if (!cidr) throw std::invalid_argument(error);
    exempt_.push_back(*cidr);
  }
}

bool ConnectionsPerSource::exempt(const asio::ip::address& source) const {
  for (const auto& cidr : exempt_)
    if (cidr.contains(source)) return true;
  return false;
}

bool ConnectionsPerSource::admits(const asio::ip::address& source) const {
  return limit_ == 0 || exempt(source) || open_from(source) < limit_;
}

void ConnectionsPerSource::opened(const asio::ip::address& source) {
  if (limit_ != 0 && !exempt(source)) ++open_[source];
}

void ConnectionsPerSource::closed(const asio::ip::address& source) {
  auto it = open_.find(source);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ConnectionsPerSource::open_from(const asio::ip::address& source) const {
  auto it = open_.find(source);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace loopchat
