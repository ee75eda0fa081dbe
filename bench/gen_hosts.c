/* Writes the benchmark data: one current-generation host record (docs/wire.md)
 * of about 691 bytes, and a JSON array of N such records with distinct ids
 * (100,000 by default, about 69 MB), the size the perf targets name.
 *
 * usage: gen_hosts DIR [N]
 *   DIR/host.json   one record; its id is printed on stdout
 *   DIR/hosts.json  the array, newest first
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One OpenSSH known_hosts line, as a key scan of the host answers. */
#define KNOWN_HOSTS                                                                                \
    "203.0.113.17 ssh-ed25519 "                                                                    \
    "AAAAC3NzaC1lZDI1NTE5AAAAIHq1p7tH3kxQ0mY2cVfJ8wZbR4dN6sLgUoE5yTi9aKc2\\n"

static int write_record(FILE *f, unsigned long i)
{
    unsigned int m = (unsigned int)(i % 60), s = (unsigned int)((i * 7) % 60);
    return fprintf(f,
                   "{\"id\":\"%08lx-7c1e-4b2a-9d3f-%012lx\",\"name\":\"sb-%012lx\","
                   "\"status\":\"active\",\"provider\":\"hetzner\",\"image\":\"ubuntu-24.04-lts\","
                   "\"external_ssh_host\":\"203.0.113.17\",\"external_ssh_port\":%u,"
                   "\"ssh_username\":\"sandboxuser\","
                   "\"internal_ssh_host\":\"sb-%012lx.tail4c2e.ts.net\","
                   "\"known_hosts\":\"" KNOWN_HOSTS "\","
                   "\"private_key\":null,\"tailscale_device_id\":\"nKx4Yq7CNTRL%06lu\","
                   "\"instance_type\":\"cx33\",\"disk_gb\":80,\"last_error\":\"\","
                   "\"created_at\":\"2026-11-26T12:%02u:%02u.123456+00:00\","
                   "\"updated_at\":\"2026-11-26T12:%02u:%02u.654321+00:00\","
                   "\"activated_at\":\"2026-11-26T12:%02u:%02u.777777+00:00\","
                   "\"expires_at\":\"2026-11-27T12:%02u:%02u+00:00\"}",
                   i, i * 2654435761UL % 0xffffffffffffUL, i, 22 + (unsigned int)(i % 2) * 2200, i,
                   i % 1000000, m, s, m, s, m, s, m, s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [N]\n", argv[0]);
        return 2;
    }
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    char path[4096];

    snprintf(path, sizeof path, "%s/host.json", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    int one = write_record(f, 424242);
    if (fclose(f) != 0 || one < 0) {
        perror(path);
        return 1;
    }

    snprintf(path, sizeof path, "%s/hosts.json", argv[1]);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    static char iobuf[1 << 16];
    setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
    fputc('[', f);
    for (unsigned long i = 0; i < n; i++) {
        if (i) fputc(',', f);
        if (write_record(f, n - i) < 0) break;
    }
    fputc(']', f);
    if (ferror(f) | fclose(f)) {
        perror(path);
        return 1;
    }
    printf("%08lx-7c1e-4b2a-9d3f-%012lx\n", 424242UL, 424242UL * 2654435761UL % 0xffffffffffffUL);
    fprintf(stderr, "gen_hosts: host.json %d bytes, hosts.json %lu records\n", one, n);
    return 0;
}
