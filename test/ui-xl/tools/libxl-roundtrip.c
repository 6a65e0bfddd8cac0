/* Round-trip libxl_domain_config JSON through the real libxenlight 4.17 and
 * print it the way `xl list -l` does (xl_info.c list_domains_details). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define HAVE_YAJL_YAJL_VERSION_H 1
#include <libxl.h>
#include <libxl_json.h>

/* libxl_ctx_alloc opens libxc and xenstore; parsing JSON needs neither, so
 * stand-ins let a context exist on a machine without Xen. */
void *xc_interface_open(void *a, void *b, unsigned f) { return (void *)1; }
int xc_interface_close(void *x) { return 0; }
void *xs_open(unsigned long f) { return (void *)1; }
void xs_close(void *x) { }

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb"); if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    char *b = malloc(n + 1); if (fread(b, 1, n, f) != (size_t)n) exit(2); b[n] = 0; fclose(f);
    return b;
}

int main(int argc, char **argv) {
    libxl_ctx *ctx;
    xentoollog_logger_stdiostream *lg = xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg)) { fprintf(stderr, "ctx\n"); return 2; }
    yajl_gen hand = libxl_yajl_gen_alloc(NULL);
    yajl_gen_array_open(hand);
    for (int i = 1; i + 1 < argc; i += 2) {
        libxl_domain_config d;
        libxl_domain_config_init(&d);
        char *json = slurp(argv[i + 1]);
        if (libxl_domain_config_from_json(ctx, &d, json)) { fprintf(stderr, "parse failed: %s\n", argv[i + 1]); return 3; }
        int domid = atoi(argv[i]);
        yajl_gen_map_open(hand);
        yajl_gen_string(hand, (const unsigned char *)"domid", 5);
        if (domid != -1) yajl_gen_integer(hand, domid); else yajl_gen_null(hand);
        yajl_gen_string(hand, (const unsigned char *)"config", 6);
        libxl_domain_config_gen_json(hand, &d);
        yajl_gen_map_close(hand);
        libxl_domain_config_dispose(&d);
        free(json);
    }
    yajl_gen_array_close(hand);
    const unsigned char *buf; size_t len;
    yajl_gen_get_buf(hand, &buf, &len);
    puts((const char *)buf);
    return 0;
}
