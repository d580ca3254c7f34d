// The client's address behind a trusted reverse proxy (--trusted-proxy):
// X-Forwarded-For lists the addresses each proxy saw, the nearest last. Read
// from the right, skipping trusted proxies, the first other address is the
// client. Only a connection from a trusted proxy is believed; anyone else
// could write any header.
#pragma once

#include <asio/ip/address.hpp>

#include <string_view>
#include <vector>

#include "server/fetch/address_policy.hpp"

namespace loopchat {

asio::ip::address forwarded_client(const asio::ip::address& peer, std::string_view forwarded_for,
                                   const std::vector<Cidr>& trusted);

}  // namespace loopchat
