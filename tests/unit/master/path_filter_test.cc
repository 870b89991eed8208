// Glob matching as Python's PurePath.match, and uvicorn's include/exclude defaults and merging.
#include "master/path_filter.h"

#include <gtest/gtest.h>

namespace asgid::master {
namespace {

TEST(GlobMatchTest, MatchesFromTheRightComponentByComponent) {
  EXPECT_TRUE(globMatch("*.py", "main.py"));
  EXPECT_TRUE(globMatch("*.py", "/srv/app/pkg/main.py"));
  EXPECT_TRUE(globMatch("pkg/*.py", "/srv/app/pkg/main.py"));
  EXPECT_FALSE(globMatch("pkg/*.py", "/srv/app/other/main.py"));
  EXPECT_FALSE(globMatch("*.py", "/srv/app/main.pyc"));
  EXPECT_FALSE(globMatch("a/b/c.py", "c.py"));  // more components than the path has
  // '*' stays within a component, as in Python: it does not reach across '/'.
  EXPECT_FALSE(globMatch("app/*.py", "/srv/app/sub/main.py"));
}

TEST(GlobMatchTest, AbsolutePatternsMatchTheWholePath) {
  EXPECT_TRUE(globMatch("/srv/*/main.py", "/srv/app/main.py"));
  EXPECT_FALSE(globMatch("/srv/*/main.py", "/x/srv/app/main.py"));
  EXPECT_FALSE(globMatch("/srv/*.py", "srv/main.py"));
}

TEST(GlobMatchTest, FnmatchSyntaxWithoutEscapes) {
  EXPECT_TRUE(globMatch(".py[cod]", ".pyc"));
  EXPECT_TRUE(globMatch("*.py[cod]", "m.pyo"));
  EXPECT_FALSE(globMatch("*.py[cod]", "m.pyx"));
  EXPECT_TRUE(globMatch("m?.py", "m1.py"));
  EXPECT_TRUE(globMatch("[!a]*.py", "b.py"));
  EXPECT_FALSE(globMatch("[!a]*.py", "a.py"));
  EXPECT_TRUE(globMatch(".*", ".hidden.py"));  // a leading dot is not special, as in Python
  EXPECT_TRUE(globMatch("~*", "~backup.py"));
  EXPECT_TRUE(globMatch("a\\b", "a\\b"));  // a backslash is a plain character
  EXPECT_FALSE(globMatch("", "main.py"));
}

TEST(PathFilterTest, UvicornDefaults) {
  PathFilter filter({}, {});
  EXPECT_EQ(filter.includes(), (std::vector<std::string>{"*.py"}));
  EXPECT_EQ(filter.excludes(), (std::vector<std::string>{".*", ".py[cod]", ".sw.*", "~*"}));
  EXPECT_TRUE(filter.watches("/app/main.py"));
  EXPECT_FALSE(filter.watches("/app/.main.py"));  // editor temp files
  EXPECT_FALSE(filter.watches("/app/~main.py"));
  EXPECT_FALSE(filter.watches("/app/main.py.tmp"));
  EXPECT_FALSE(filter.watches("/app/templates/index.html"));
}

TEST(PathFilterTest, UserPatternsMergeAsInUvicorn) {
  PathFilter html({"*.html"}, {"test_*.py"});
  EXPECT_TRUE(html.watches("/app/templates/index.html"));
  EXPECT_TRUE(html.watches("/app/main.py"));
  EXPECT_FALSE(html.watches("/app/test_main.py"));
  // Including a default exclude drops it from the excludes.
  PathFilter dotfiles({".*"}, {});
  EXPECT_TRUE(dotfiles.watches("/app/.env"));
  // Excluding *.py drops the default include; a pattern both included and excluded is excluded.
  PathFilter no_py({"*.txt"}, {"*.py", "*.txt"});
  EXPECT_FALSE(no_py.watches("/app/main.py"));
  EXPECT_FALSE(no_py.watches("/app/notes.txt"));
}

TEST(PathFilterTest, SingleComponentExcludesPruneDirectories) {
  PathFilter filter({}, {"build", "docs/*"});
  EXPECT_TRUE(filter.excludesDirectory(".git"));  // the default ".*"
  EXPECT_TRUE(filter.excludesDirectory(".venv"));
  EXPECT_TRUE(filter.excludesDirectory("build"));
  EXPECT_FALSE(filter.excludesDirectory("docs"));  // a pattern with '/' names files only
  EXPECT_FALSE(filter.excludesDirectory("app"));
}

}  // namespace
}  // namespace asgid::master
