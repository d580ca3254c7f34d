#include "server/transport/connections_per_source.hpp"

#include <algorithm>
#include <stdexcept>

namespace loopchat {

asio::ip::address source_of(const asio::ip::address& address) {
  if (address.is_v4()) return address;
  asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);  // the interface identifier
  return asio::ip::address_v6(bytes);            // and no scope id
}

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
  if (limit_ != 0 && !exempt(source)) ++open_[source_of(source)];
}

void ConnectionsPerSource::closed(const asio::ip::address& source) {
  // An exempt address may share its /64 with counted ones: it was not counted.
  if (limit_ == 0 || exempt(source)) return;
  auto it = open_.find(source_of(source));
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ConnectionsPerSource::open_from(const asio::ip::address& source) const {
  auto it = open_.find(source_of(source));
  return it == open_.end() ? 0 : it->second;
}

}  // namespace loopchat
