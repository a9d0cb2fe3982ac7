# Debian packages, one per machine kind, made by CPack's DEB generator from this build
# (./dev package; docs/deploy.md). Why CPack and not debhelper: the packages come from the
# same CMake install rules as `cmake --install`, need no debian/ tree kept in step with
# them, and cross-build for arm64 from the same toolchain file; Depends on the shared
# libraries is still computed by dpkg-shlibdeps (CPACK_DEBIAN_PACKAGE_SHLIBDEPS), and the
# maintainer scripts in packaging/debian/ do what debhelper's would.
#
#   evalroom-common      users (sysusers), directories and key modes (tmpfiles), docs
#   evalroom-controller  evalroom-controller + unit + /etc/evalroom/controller.conf
#   evalroom-agent       evalroom-agent + unit + udev rule + /etc/evalroom/agent.conf
#   evalroom-terminal    evalroom-terminal + kiosk template unit + terminal.conf
#   evalroom-tools       evalroomctl, evalroom-archive (operator's, desk's, auditor's PC)
#   evalroom-broker      mosquitto's conf.d snippet and unit drop-in
set(EVALROOM_PKG_COMPONENTS common controller agent terminal tools broker)
set(pkgsrc ${PROJECT_SOURCE_DIR}/packaging/debian)
set(pkggen ${CMAKE_BINARY_DIR}/packaging)
set(pkgconf ${CMAKE_INSTALL_FULL_SYSCONFDIR}/evalroom)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME evalroom)
set(CPACK_PACKAGE_VENDOR "evalroom")
set(EVALROOM_DEB_MAINTAINER "evalroom maintainers <evalroom@example.org>" CACHE STRING
    "Maintainer field of the Debian packages (the site's or the vendor's address)")
set(CPACK_PACKAGE_CONTACT "${EVALROOM_DEB_MAINTAINER}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1 CACHE STRING "Debian revision of the packages")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "isolated bid-evaluation area")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${EVALROOM_PKG_COMPONENTS})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_STRIP_FILES ON)
set(CPACK_THREADS 2)
if(CMAKE_CROSSCOMPILING AND EVALROOM_DEB_ARCH)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${EVALROOM_DEB_ARCH})
endif()

# What no shared library says: the GStreamer elements loaded at run time, GIO's TLS
# backend (the web console's HTTPS), the broker, systemd's sysusers and tmpfiles.
set(CPACK_DEBIAN_COMMON_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_CONTROLLER_PACKAGE_DEPENDS "glib-networking")
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS
    "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-nice")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "gstreamer1.0-plugins-ugly, udev")
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS
    "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad")
set(CPACK_DEBIAN_BROKER_PACKAGE_DEPENDS "mosquitto (>= 2.0)")

set(d_common "users, directories and documentation
 The system users evalroom, evalroom-agent (groups gpio, video, audio) and
 evalroom-terminal, the /etc/evalroom directories with the private keys' modes,
 and the deployment guide. Needed by every evalroom machine.")
set(d_controller "site controller
 The site's truth: seat draw, admissions, alerts, signed tender archives.
 Installs evalroom-controller.service, enabled; it starts once the site's
 certificates are in /etc/evalroom/tls.")
set(d_agent "room agent for the board by the room's door
 Drives the door (GPIO), records the room's and seats' cameras and microphones
 and ships the recordings to the controller. Installs evalroom-agent.service,
 enabled; it starts once the room's certificate is in /etc/evalroom/tls.")
set(d_terminal "login kiosk for the evaluation workstations
 Replaces the console's login prompt with the seat's check-in screen
 (evalroom-terminal@tty1.service, enabled by the administrator).")
set(d_tools "operator and auditor tools
 evalroomctl (provisioning, sessions, door, check-in desk, alerts) and
 evalroom-archive (verifies and exports a tender archive offline).")
set(d_broker "MQTT broker settings for mosquitto
 The TLS listener, client certificates and ACL of the provisioned site for
 Debian's mosquitto, and a unit drop-in that waits for the broker certificate.")

# Per package: description, dependency on evalroom-common, maintainer scripts, conffiles
# (everything it ships under /etc), and the copyright and changelog Debian expects.
string(TIMESTAMP pkg_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(c ${EVALROOM_PKG_COMPONENTS})
  string(TOUPPER ${c} C)
  set(CPACK_COMPONENT_${C}_DESCRIPTION "${d_${c}}")
  if(NOT c STREQUAL common)
    set(CPACK_COMPONENT_${C}_DEPENDS common)
  endif()
  set(extra "")
  foreach(s preinst postinst prerm postrm)
    if(EXISTS ${pkgsrc}/${c}.${s})
      configure_file(${pkgsrc}/${c}.${s} ${pkggen}/${c}/${s} COPYONLY
                     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                      GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
      list(APPEND extra ${pkggen}/${c}/${s})
    endif()
  endforeach()
  set(conffiles "")
  if(c MATCHES "^(controller|agent|terminal)$")
    string(APPEND conffiles "${pkgconf}/${c}.conf\n${pkgconf}/${c}.conf.example\n")
  elseif(c STREQUAL broker)
    string(APPEND conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mosquitto/conf.d/evalroom.conf\n")
  endif()
  if(conffiles)
    file(WRITE ${pkggen}/${c}/conffiles "${conffiles}")
    list(APPEND extra ${pkggen}/${c}/conffiles)
  endif()
  set(CPACK_DEBIAN_${C}_PACKAGE_CONTROL_EXTRA "${extra}")

  set(pkg evalroom-${c})
  file(WRITE ${pkggen}/${c}/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: evalroom

Files: *
Copyright: 2026 evalroom authors
License: evalroom
 Internal product of the trading centre; no licence for redistribution is granted.
")
  file(WRITE ${pkggen}/${c}/changelog
"${pkg} (${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}) bookworm; urgency=medium

  * Packaged from the evalroom CMake build (./dev package).

 -- ${CPACK_PACKAGE_CONTACT}  ${pkg_date}
")
  execute_process(COMMAND gzip -9nf ${pkggen}/${c}/changelog)
  install(FILES ${pkggen}/${c}/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg}
          COMPONENT ${c})
  install(FILES ${pkggen}/${c}/changelog.gz DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${pkg}
          RENAME changelog.Debian.gz COMPONENT ${c})
endforeach()

set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/CPackDebCross.cmake)
include(CPack)
