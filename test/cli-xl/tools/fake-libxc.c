/*
 * Just enough of libxenctrl for the real xl 4.17 to run without a hypervisor, so
 * real-xl.test.ts can compare it with the xl shim: LD_PRELOAD'ed over libxenctrl, it
 * answers the calls xl makes while it parses command lines and configs (version,
 * physinfo, CPU counts) and lists a lone Domain-0. xenstore is real: the test
 * points XENSTORED_PATH at xenemu's socket. Anything that would need a guest goes
 * unanswered, so the comparisons stay on paths that do not.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <xenctrl.h>
#include <xen/version.h>

static char handle[4096];

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger, unsigned open_flags)
{
    return (xc_interface *)handle;
}

int xc_interface_close(xc_interface *xch) { return 0; }
int xc_get_max_cpus(xc_interface *xch) { return 4; }
int xc_get_max_nodes(xc_interface *xch) { return 1; }
int xc_get_online_cpus(xc_interface *xch) { return 4; }

int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    memset(info, 0, sizeof(*info));
    info->nr_cpus = 4;
    info->max_cpu_id = 3;
    info->nr_nodes = 1;
    info->threads_per_core = 1;
    info->cores_per_socket = 4;
    info->total_pages = 4194304;
    info->free_pages = 2097152;
    info->capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm;
    return 0;
}

long xc_memory_op(xc_interface *xch, unsigned int cmd, void *arg, size_t len) { return 0; }
long xc_sharing_freed_pages(xc_interface *xch) { return 0; }
long xc_sharing_used_frames(xc_interface *xch) { return 0; }

int xc_version(xc_interface *xch, int cmd, void *arg)
{
    switch (cmd) {
    case XENVER_version:
        return (4 << 16) | 17;
    case XENVER_extraversion:
        memset(arg, 0, sizeof(xen_extraversion_t));
        strcpy(arg, ".7");
        return 0;
    case XENVER_compile_info:
        memset(arg, 0, sizeof(xen_compile_info_t));
        return 0;
    case XENVER_capabilities:
        memset(arg, 0, sizeof(xen_capabilities_info_t));
        return 0;
    case XENVER_changeset:
        memset(arg, 0, sizeof(xen_changeset_info_t));
        return 0;
    case XENVER_platform_parameters:
        memset(arg, 0, sizeof(xen_platform_parameters_t));
        return 0;
    case XENVER_pagesize:
        return 4096;
    case XENVER_commandline:
        /* dom0_mem= on Xen's command line turns xl.conf's autoballoon "auto" off. */
        memset(arg, 0, sizeof(xen_commandline_t));
        strcpy(arg, "dom0_mem=1024M");
        return 0;
    default:
        errno = ENOSYS;
        return -1;
    }
}

/* Domain-0 only. */
int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains, xc_domaininfo_t *info)
{
    if (first_domain > 0 || max_domains == 0)
        return 0;
    memset(info, 0, sizeof(*info));
    info->domain = 0;
    info->flags = XEN_DOMINF_running;
    info->tot_pages = 262144;
    info->max_pages = 262400;
    info->nr_online_vcpus = 4;
    info->max_vcpu_id = 3;
    return 1;
}

int xc_flask_sid_to_context(xc_interface *xch, int sid, char *buf, uint32_t size)
{
    errno = ENOSYS;
    return -1;
}

/* Xen without FLASK, as the emulated one: the dummy XSM answers every flask op ENOSYS. */
int xc_flask_getenforce(xc_interface *xch)
{
    errno = ENOSYS;
    return -1;
}
