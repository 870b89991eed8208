// "Did you mean ...?" for unknown YAML keys and flags.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asgid::config {

// Edits that turn `a` into `b`: insertions, deletions, substitutions and swaps of adjacent
// characters (a common typo: "prot" for "port") each count one.
size_t editDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, or empty when none is near enough to be what was meant.
std::string closestName(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace asgid::config
