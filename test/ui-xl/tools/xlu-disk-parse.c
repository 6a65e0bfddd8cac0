/*
 * The oracle for disk specs: each argument through the real libxlutil's
 * xlu_disk_parse() (libxlu_disk_l.l as Xen 4.17 ships it), then printed with
 * libxl_device_disk_to_json() as `xl -N block-attach` prints it. One block per
 * argument: "@@ SPEC", then the JSON, or "ERR" after libxlu's own message.
 */
#include <stdio.h>
#include <libxl.h>
#include <libxlutil.h>

int main(int argc, char **argv)
{
    XLU_Config *config = xlu_cfg_init(stdout, "spec");
    if (!config) return 1;
    for (int i = 1; i < argc; i++) {
        libxl_device_disk disk;
        const char *specs[1] = { argv[i] };
        libxl_device_disk_init(&disk);
        printf("@@ %s\n", argv[i]);
        fflush(stdout);
        if (xlu_disk_parse(config, 1, specs, &disk)) {
            printf("ERR\n");
        } else {
            char *json = libxl_device_disk_to_json(NULL, &disk);
            printf("%s", json ? json : "(no json)\n");
        }
        fflush(stdout);
        libxl_device_disk_dispose(&disk);
    }
    xlu_cfg_destroy(config);
    return 0;
}
