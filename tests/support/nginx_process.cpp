#include "tests/support/nginx_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

NginxProcess::NginxProcess(std::uint16_t upstream_port) : port_(free_loopback_port()) {
  ::mkdir((dir_ / "tmp").c_str(), 0700);
  CommandResult cert =
      run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                   "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                   "-keyout", dir_ / "key.pem", "-out", dir_ / "cert.pem"},
                  std::chrono::seconds(30));
  if (cert.exit_code != 0)
    throw std::runtime_error(
        "openssl could not make a certificate (tools/setup --test "
        "installs it): " +
        cert.err);
  std::ifstream in(NGINX_CONF_TEMPLATE);
  if (!in) throw std::runtime_error(std::string("cannot read ") + NGINX_CONF_TEMPLATE);
  std::stringstream conf;
  conf << in.rdbuf();
  std::string text = replace_all(conf.str(), "@PREFIX@", dir_.path());
  text = replace_all(text, "@PORT@", std::to_string(port_));
  text = replace_all(text, "@UPSTREAM@", std::to_string(upstream_port));
  text = replace_all(text, "@USER@", ::geteuid() == 0 ? "user root;" : "");
  std::ofstream(dir_ / "nginx.conf") << text;

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = ::open("/dev/null", O_WRONLY);  // its workers must not hold the test's pipes
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    std::string conf_path = dir_ / "nginx.conf";
    ::execlp("nginx", "nginx", "-p", dir_.path().c_str(), "-c", conf_path.c_str(), "-e",
             (dir_ / "error.log").c_str(), "-g", "daemon off;", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int fd; (fd = connect_loopback(port_)) < 0;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream log(dir_ / "error.log");
      std::stringstream why;
      why << log.rdbuf();
      throw std::runtime_error("nginx did not start (tools/setup --test installs it): " +
                               why.str());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("nginx did not listen in 10 s");
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 20);  // between connection attempts to a server still starting
  }
}

NginxProcess::~NginxProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);  // its master: it stops its worker and exits
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

}  // namespace loopchat::test
