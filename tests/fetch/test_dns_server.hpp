// A tiny DNS server on UDP for tests of the resolver's socket path: it
// answers A and AAAA questions from a fixed table, NXDOMAIN for unknown
// names, and never answers the names marked silent. Runs on the caller's
// io_context, on 127.0.0.1 and an ephemeral port.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

namespace loopchat::test {

class TestDnsServer {
 public:
  explicit TestDnsServer(asio::io_context& io);
  ~TestDnsServer();
  TestDnsServer(const TestDnsServer&) = delete;
  TestDnsServer& operator=(const TestDnsServer&) = delete;

  void add(const std::string& name, const asio::ip::address& address);
  void silent(const std::string& name);
  std::string servers() const;  // "127.0.0.1:PORT", for DnsOptions::servers
  std::size_t queries() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace loopchat::test
