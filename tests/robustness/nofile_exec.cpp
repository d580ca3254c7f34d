// Runs loopchat-server with its open-file limit (soft and hard, so the
// server cannot raise it) set to $LOOPCHAT_NOFILE: the fd-exhaustion test
// passes this helper to ServerProcess in place of the server binary.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

int main(int, char** argv) {
  const char* limit_text = std::getenv("LOOPCHAT_NOFILE");
  if (limit_text == nullptr) {
    std::fprintf(stderr, "nofile_exec: LOOPCHAT_NOFILE is not set\n");
    return 2;
  }
  rlim_t limit = std::strtoul(limit_text, nullptr, 10);
  rlimit both{limit, limit};
  if (::setrlimit(RLIMIT_NOFILE, &both) != 0) {
    std::perror("nofile_exec: setrlimit");
    return 2;
  }
  char server[] = LOOPCHAT_SERVER_BIN;
  argv[0] = server;
  ::execv(server, argv);
  std::perror("nofile_exec: execv");
  return 127;
}
