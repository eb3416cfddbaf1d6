#include "cli/terminal.h"

#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace lattice::cli {
namespace {

// The terminal settings to restore if Ctrl-C arrives while echo is off.
termios g_saved_termios{};

void RestoreAndDie(int sig) {
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

bool StdinIsTerminal() {
  return ::isatty(STDIN_FILENO) == 1;
}

bool StderrIsTerminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

std::optional<std::string> ReadStdinLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::optional<std::string> PromptLine(const std::string& prompt) {
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
  return ReadStdinLine();
}

std::optional<std::string> PromptPassword(const std::string& prompt) {
  termios saved{};
  const bool have_tty = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  using Handler = void (*)(int);
  Handler old_int = SIG_DFL, old_term = SIG_DFL;
  if (have_tty) {
    g_saved_termios = saved;
    old_int = std::signal(SIGINT, RestoreAndDie);
    old_term = std::signal(SIGTERM, RestoreAndDie);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // still move to the next line on Enter
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  auto line = PromptLine(prompt);
  if (have_tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
  return line;
}

}  // namespace lattice::cli
