#!/usr/bin/env bash
# Checks a built asgid .rpm without installing it (scripts/test-packages.sh runs it): the file
# list (rpm -qlp), the conffiles, the scriptlets (rpm -qp --scripts) and the dependencies
# (rpm -qRp). Prints what it checked; exits 1 on the first difference.
set -euo pipefail
rpm_file=$1
fail() { echo "check-rpm.sh: $*" >&2; exit 1; }

files=$(rpm -qlp "$rpm_file")
for f in /usr/bin/asgid /usr/share/man/man1/asgid.1.gz /usr/share/man/man5/asgid.yaml.5.gz \
         /etc/asgid /etc/asgid/asgid.yaml /etc/logrotate.d/asgid \
         /usr/lib/systemd/system/asgid.service /usr/lib/systemd/system/asgid@.service \
         /usr/lib/systemd/system/asgid.socket /usr/lib/sysusers.d/asgid.conf \
         /usr/share/doc/asgid/README.md /usr/share/doc/asgid/configuration.md /var/log/asgid; do
  grep -q -x -F "$f" <<<"$files" || fail "$f is not in the package"
done
unexpected=$(grep -v -E '^/(usr/bin/asgid|usr/share/man/man[15]/asgid|etc/asgid|etc/logrotate\.d/asgid|usr/lib/systemd/system/asgid|usr/lib/sysusers\.d/asgid\.conf|usr/share/doc/asgid|var/log/asgid|usr/lib/\.build-id)' <<<"$files" || true)
[ -z "$unexpected" ] || fail "unexpected files: $unexpected"
echo "    rpm -qlp: $(wc -l <<<"$files") paths, every expected one, nothing else"

configs=$(rpm -qcp "$rpm_file")
for f in /etc/asgid/asgid.yaml /etc/logrotate.d/asgid; do
  grep -q -x -F "$f" <<<"$configs" || fail "$f is not %config"
done
# noreplace: the file's flags include the RPMFILE_NOREPLACE bit (16).
while read -r path flags; do
  case "$path" in /etc/asgid/asgid.yaml | /etc/logrotate.d/asgid)
    (( (flags & 16) != 0 )) || fail "$path is %config but not noreplace" ;;
  esac
done < <(rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS}\n]' "$rpm_file")
echo "    rpm -qcp: asgid.yaml and the logrotate snippet are %config(noreplace)"

scripts=$(rpm -qp --scripts "$rpm_file")
grep -q '^preinstall scriptlet' <<<"$scripts" || fail "no %pre (the asgid user)"
grep -q 'useradd -r -g asgid' <<<"$scripts" || fail "%pre does not create the asgid user"
grep -q 'systemctl --no-reload preset asgid.service asgid.socket asgid@.service' <<<"$scripts" ||
  fail "%post: no %systemd_post (preset) of the units"
grep -q 'systemctl --no-reload disable --now asgid.service asgid.socket' <<<"$scripts" ||
  fail "%preun: no %systemd_preun of the units"
grep -q 'systemctl try-restart asgid.service asgid.socket' <<<"$scripts" ||
  fail "%postun: no %systemd_postun_with_restart of the units"
! grep -q -E 'systemctl (--no-reload )?(enable|start)' <<<"$scripts" ||
  fail "a scriptlet enables or starts a unit"
echo "    rpm -qp --scripts: %pre user, %post preset (not enable), %preun disable --now, %postun try-restart"

requires=$(rpm -qRp "$rpm_file")
for dep in 'libev.so.4' 'libyaml-cpp.so' 'libpython3' 'libspdlog.so' 'libz.so.1' '/usr/bin/kill' 'logrotate'; do
  grep -q -F "$dep" <<<"$requires" || fail "no dependency on $dep"
done
echo "    rpm -qRp: $(wc -l <<<"$requires") requirements, including libev, yaml-cpp, libpython3, spdlog, zlib, /usr/bin/kill, logrotate"
