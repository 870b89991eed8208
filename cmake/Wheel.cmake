# The wheel (pip install / scripts/build-wheel.sh): scikit-build-core runs CMake with SKBUILD
# set and installs only the `wheel` component (pyproject.toml), so the rules above for the
# Debian/RPM layout (bin/, man pages) stay out of site-packages.
#
# asgid goes to the wheel's scripts directory, which pip puts in the venv's bin/ next to
# python; the program finds that venv from its own path (config/executable_venv.h).
install(TARGETS asgid RUNTIME DESTINATION ${SKBUILD_SCRIPTS_DIR} COMPONENT wheel)

# The binary is tied to the libpython of the interpreter that ran pip (Python3_EXECUTABLE,
# set by scikit-build-core). Debian's lies in a system directory and needs no rpath; a Python
# installed elsewhere (pyenv, a /opt build with --enable-shared) keeps its lib directory in
# the installed binary's rpath, as CMake would otherwise strip it at install.
set_target_properties(asgid PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
