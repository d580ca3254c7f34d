// A real nginx (Debian's) serving TLS on a free loopback port in front of a
// loopchat server, with a self-signed certificate made by openssl for
// 127.0.0.1 and localhost: the wss:// deployment of docs/deploy.md, for one
// test. A test that needs it fails, not skips, when nginx or openssl is missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace loopchat::test {

class NginxProcess {
 public:
  explicit NginxProcess(std::uint16_t upstream_port);
  ~NginxProcess();
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "wss://127.0.0.1:" + std::to_string(port_) + "/ws"; }
  std::string certificate() const { return dir_ / "cert.pem"; }  // also its own CA

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace loopchat::test
