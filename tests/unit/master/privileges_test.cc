#include "master/privileges.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <stdexcept>

namespace asgid::master {
namespace {

TEST(Identity, NoUserNoGroupChangesNothing) {
  config::Settings settings;
  Identity identity = resolveIdentity(settings);
  EXPECT_FALSE(identity.changes);
  EXPECT_FALSE(identity.fileOwner().changes()) << "log files keep whoever creates them";
  const uid_t before = getuid();
  dropPrivileges(identity);  // a no-op, so it works without root
  EXPECT_EQ(getuid(), before);
}

TEST(Identity, UserGivesItsIdsToTheLogFiles) {
  const passwd* nobody = getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  config::Settings settings;
  settings.user = "nobody";
  Identity identity = resolveIdentity(settings);
  EXPECT_TRUE(identity.changes);
  EXPECT_EQ(identity.user, "nobody");
  log::FileOwner owner = identity.fileOwner();
  EXPECT_EQ(owner.uid, nobody->pw_uid);
  EXPECT_EQ(owner.gid, nobody->pw_gid);
}

TEST(Identity, GroupOverridesTheUsersGroup) {
  const passwd* nobody = getpwnam("nobody");
  const group* root = getgrgid(0);
  if (nobody == nullptr || root == nullptr) GTEST_SKIP() << "no user 'nobody' or group 0";
  config::Settings settings;
  settings.user = "nobody";
  settings.group = root->gr_name;
  log::FileOwner owner = resolveIdentity(settings).fileOwner();
  EXPECT_EQ(owner.uid, nobody->pw_uid);
  EXPECT_EQ(owner.gid, 0u);
}

TEST(Identity, GroupAloneKeepsTheCurrentUser) {
  const group* root = getgrgid(0);
  if (root == nullptr) GTEST_SKIP() << "no group 0";
  config::Settings settings;
  settings.group = root->gr_name;
  log::FileOwner owner = resolveIdentity(settings).fileOwner();
  EXPECT_EQ(owner.uid, getuid());
  EXPECT_EQ(owner.gid, 0u);
}

TEST(Identity, UnknownNamesAreErrorsNamingTheSetting) {
  config::Settings settings;
  settings.user = "no-such-user-asgid";
  EXPECT_THROW(
      {
        try {
          resolveIdentity(settings);
        } catch (const std::runtime_error& error) {
          EXPECT_STREQ(error.what(), "--user no-such-user-asgid: no such user");
          throw;
        }
      },
      std::runtime_error);
  settings.user.clear();
  settings.group = "no-such-group-asgid";
  EXPECT_THROW(resolveIdentity(settings), std::runtime_error);
}

}  // namespace
}  // namespace asgid::master
