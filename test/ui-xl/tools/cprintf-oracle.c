/* The reference for test/ui-xl's printf emulation: glibc's printf itself.
 * stdin, one request a line:
 *   f BITS PREC   a double given by its IEEE-754 bits (hex), printed "%.<PREC>f"
 *   t NS          xl's cpu time: printf("%8.1f|%9.1f", (float)NS / 1e9, ...) for a uint64 NS
 * stdout: one answer a line. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    char kind;
    while (scanf(" %c", &kind) == 1) {
        if (kind == 'f') {
            uint64_t bits; int prec; double d;
            if (scanf("%" SCNx64 " %d", &bits, &prec) != 2) return 1;
            memcpy(&d, &bits, sizeof d);
            printf("%.*f\n", prec, d);
        } else if (kind == 't') {
            uint64_t ns;
            if (scanf("%" SCNu64, &ns) != 1) return 1;
            printf("%8.1f|%9.1f\n", ((float)ns / 1e9), ((float)ns / 1e9));
        } else {
            return 1;
        }
        fflush(stdout);
    }
    return 0;
}
