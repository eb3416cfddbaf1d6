// The few terminal facts and interactions the CLI needs: is a stream a terminal, and reading a
// line or a password (echo off) from stdin. Not thread-safe (touches process-wide terminal state).
#pragma once

#include <optional>
#include <string>

namespace lattice::cli {

bool StdinIsTerminal();
bool StderrIsTerminal();

// Prints `prompt` on stderr and reads one line from stdin (without its line ending).
// std::nullopt at end of input.
std::optional<std::string> PromptLine(const std::string& prompt);

// Like PromptLine, with echo turned off while typing (stdin must be a terminal); the terminal
// settings are restored before returning.
std::optional<std::string> PromptPassword(const std::string& prompt);

// All of stdin up to the first line ending (the `--password-stdin` convention).
std::optional<std::string> ReadStdinLine();

}  // namespace lattice::cli
