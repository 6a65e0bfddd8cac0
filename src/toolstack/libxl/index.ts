/**
 * libxl's data model as xenemu uses it: the IDL (idl.ts, generated from
 * libxl_types.idl), the one translation from a DomainConfig to what xl's parser builds
 * (from-config.ts), libxl's defaults and retrieval (defaults.ts) and the JSON writer
 * (json.ts over yajl.ts), and the rows xl's listings read (rows.ts: libxl_dominfo,
 * libxl_vcpuinfo, libxl_physinfo). The daemon builds these objects; src/ui only prints them.
 */
export * from './idl.js';
export { LibxlConfigError, libxlDeviceDiskGenJson, libxlDeviceNicGenJson, libxlDomainConfigGenJson } from './json.js';
export { YajlGen } from './yajl.js';
