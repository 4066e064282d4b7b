# qplug_add_plugin(<driver-name> SOURCES ... [LIBRARIES ...])
#
# Builds qplug_<driver-name>.so the way every driver must be built: against
# abi/ only, with every symbol hidden except qplug_driver_entry (visibility
# plus a version script), so a plugin's client library and TLS stack never
# collide with the host's or another plugin's.
function(qplug_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target qplug_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "qplug_${name}"
    LIBRARY_OUTPUT_DIRECTORY "${QPLUG_PLUGIN_BUILD_DIR}"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_libraries(${target} PRIVATE qplug::abi ${ARG_LIBRARIES})
  target_link_options(${target} PRIVATE
    "-Wl,--version-script=${QPLUG_ABI_DIR}/qplug_plugin.map" ${QPLUG_PLUGIN_NO_UNDEFINED})
  install(TARGETS ${target} LIBRARY DESTINATION "${QPLUG_PLUGIN_INSTALL_DIR}")
endfunction()
