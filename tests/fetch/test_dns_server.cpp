#include "tests/fetch/test_dns_server.hpp"

#include <array>

#include <asio/ip/udp.hpp>

namespace loopchat::test {

using asio::ip::udp;

struct TestDnsServer::State : std::enable_shared_from_this<State> {
  explicit State(asio::io_context& io)
      : socket(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  udp::socket socket;
  udp::endpoint peer;
  std::array<std::uint8_t, 1500> buffer{};
  std::map<std::string, std::vector<asio::ip::address>> table;
  std::set<std::string> silent;
  std::size_t queries = 0;

  void receive() {
    socket.async_receive_from(asio::buffer(buffer), peer,
                              [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                if (ec == asio::error::operation_aborted) return;
                                if (!ec) self->answer(n);
                                self->receive();
                              });
  }

  void answer(std::size_t size) {
    ++queries;
    if (size < 12) return;
    // The question: labels from offset 12, then QTYPE and QCLASS.
    std::string name;
    std::size_t pos = 12;
    while (pos < size && buffer[pos] != 0) {
      const std::size_t length = buffer[pos];
      if (length > 63 || pos + 1 + length > size) return;
      if (!name.empty()) name += '.';
      name.append(reinterpret_cast<const char*>(&buffer[pos + 1]), length);
      pos += 1 + length;
    }
    if (pos + 5 > size) return;
    const std::size_t question_end = pos + 5;
    const int qtype = buffer[pos + 1] << 8 | buffer[pos + 2];
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (silent.count(name)) return;

    std::vector<std::uint8_t> reply(buffer.begin(), buffer.begin() + question_end);
    const auto found = table.find(name);
    std::vector<asio::ip::address> answers;
    if (found != table.end())
      for (const auto& address : found->second)
        if ((qtype == 1 && address.is_v4()) || (qtype == 28 && address.is_v6()))
          answers.push_back(address);
    reply[2] = 0x81;                                                     // QR, RD
    reply[3] = found == table.end() ? 0x83 : 0x80;                       // RA, NXDOMAIN or NOERROR
    reply[4] = 0, reply[5] = 1;                                          // QDCOUNT
    reply[6] = 0, reply[7] = static_cast<std::uint8_t>(answers.size());  // ANCOUNT
    reply[8] = reply[9] = reply[10] = reply[11] = 0;                     // NSCOUNT, ARCOUNT
    for (const auto& address : answers) {
      const std::uint8_t type = address.is_v4() ? 1 : 28;
      const std::uint8_t length = address.is_v4() ? 4 : 16;
      reply.insert(reply.end(), {0xC0, 12, 0, type, 0, 1, 0, 0, 0, 60, 0, length});
      if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        reply.insert(reply.end(), bytes.begin(), bytes.end());
      } else {
        const auto bytes = address.to_v6().to_bytes();
        reply.insert(reply.end(), bytes.begin(), bytes.end());
      }
    }
    std::error_code ignored;
    socket.send_to(asio::buffer(reply), peer, 0, ignored);
  }
};

TestDnsServer::TestDnsServer(asio::io_context& io) : state_(std::make_shared<State>(io)) {
  state_->receive();
}

TestDnsServer::~TestDnsServer() {
  std::error_code ignored;
  state_->socket.close(ignored);
}

void TestDnsServer::add(const std::string& name, const asio::ip::address& address) {
  state_->table[name].push_back(address);
}

void TestDnsServer::silent(const std::string& name) {
  state_->silent.insert(name);
}

std::string TestDnsServer::servers() const {
  return "127.0.0.1:" + std::to_string(state_->socket.local_endpoint().port());
}

std::size_t TestDnsServer::queries() const {
  return state_->queries;
}

}  // namespace loopchat::test
