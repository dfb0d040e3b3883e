/* lime_modinfo.c - a kernel module's .modinfo (name, vermagic), where the
 * LiME module is installed, and whether its vermagic fits the running kernel.
 *
 * The .ko is read with bounded preads (ELF header, section headers, the
 * section name table, .modinfo: each at most MODINFO_SECTION_MAX), never
 * mapped whole; a section table pointing past the file is refused. */
#include "config.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/limemod.h"

#define MODINFO_SECTION_MAX (1u << 16)
#define MODINFO_MAX_SHDRS 4096

static int pread_full(int fd, void *buf, size_t len, uint64_t off, uint64_t size)
{
	if (off > size || len > size - off)
		return -EINVAL;
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	return 0;
}

static void copy_field(char *dst, const char *val, size_t len)
{
	if (len >= VIGIL_MODINFO_MAX)
		len = VIGIL_MODINFO_MAX - 1;
	memcpy(dst, val, len);
	dst[len] = '\0';
}

/* "key=value\0key=value\0..." */
static void parse_modinfo(const char *p, size_t len, struct vigil_modinfo *mi)
{
	const char *end = p + len;

	while (p < end) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t l = z ? (size_t)(z - p) : (size_t)(end - p);

		if (l > 9 && !memcmp(p, "vermagic=", 9))
			copy_field(mi->vermagic, p + 9, l - 9);
		else if (l > 5 && !memcmp(p, "name=", 5))
			copy_field(mi->name, p + 5, l - 5);
		else if (l > 8 && !memcmp(p, "version=", 8))
			copy_field(mi->version, p + 8, l - 8);
		p += l + 1;
	}
}

static int read_modinfo(int fd, uint64_t size, struct vigil_modinfo *mi, struct vigil_err *err)
{
	Elf64_Ehdr e;
	Elf64_Shdr *sh = NULL, *names;
	char *strtab = NULL, *info = NULL;
	int rc = -EINVAL;

	if (pread_full(fd, &e, sizeof(e), 0, size) || memcmp(e.e_ident, ELFMAG, SELFMAG))
		return vigil_err_set(err, -ENOEXEC, "not an ELF file (compressed modules are not read)");
	if (e.e_ident[EI_CLASS] != ELFCLASS64 || e.e_ident[EI_DATA] != ELFDATA2LSB || e.e_type != ET_REL)
		return vigil_err_set(err, -ENOEXEC, "not a little-endian ELF64 relocatable module");
	if (e.e_shentsize != sizeof(Elf64_Shdr) || !e.e_shnum || e.e_shnum > MODINFO_MAX_SHDRS ||
	    e.e_shstrndx >= e.e_shnum)
		return vigil_err_set(err, -ENOEXEC, "bad section table (%u sections of %u bytes, names in %u)",
				     e.e_shnum, e.e_shentsize, e.e_shstrndx);
	sh = calloc(e.e_shnum, sizeof(*sh));
	if (!sh)
		return vigil_err_set(err, -ENOMEM, "out of memory");
	if (pread_full(fd, sh, e.e_shnum * sizeof(*sh), e.e_shoff, size)) {
		rc = vigil_err_set(err, -ENOEXEC, "section table past the end of the file");
		goto out;
	}
	names = &sh[e.e_shstrndx];
	if (names->sh_size > MODINFO_SECTION_MAX || !(strtab = calloc(1, names->sh_size + 1)) ||
	    pread_full(fd, strtab, names->sh_size, names->sh_offset, size)) {
		rc = vigil_err_set(err, -ENOEXEC, "section names unreadable");
		goto out;
	}
	for (size_t i = 0; i < e.e_shnum; i++) {
		if (sh[i].sh_name >= names->sh_size || strcmp(strtab + sh[i].sh_name, ".modinfo"))
			continue;
		if (sh[i].sh_size > MODINFO_SECTION_MAX || !(info = malloc(sh[i].sh_size + 1)) ||
		    pread_full(fd, info, sh[i].sh_size, sh[i].sh_offset, size)) {
			rc = vigil_err_set(err, -ENOEXEC, ".modinfo unreadable or larger than %u bytes",
					   MODINFO_SECTION_MAX);
			goto out;
		}
		parse_modinfo(info, sh[i].sh_size, mi);
		rc = mi->vermagic[0] ? 0 : vigil_err_set(err, -ENOEXEC, ".modinfo has no vermagic");
		goto out;
	}
	rc = vigil_err_set(err, -ENOEXEC, "no .modinfo section");
out:
	free(info);
	free(strtab);
	free(sh);
	return rc;
}

int vigil_limemod_modinfo(const char *path, struct vigil_modinfo *mi, struct vigil_err *err)
{
	struct stat st;
	int fd, rc;

	memset(mi, 0, sizeof(*mi));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = -errno;
		return vigil_err_set(err, rc, "open %s: %s", path, strerror(-rc));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		rc = vigil_err_set(err, -EINVAL, "%s: not a regular file", path);
	else
		rc = read_modinfo(fd, (uint64_t)st.st_size, mi, err);
	close(fd);
	if (rc)
		vigil_err_prefix(err, rc, "%s", path);
	return rc;
}

int vigil_limemod_find(const char *configured, const char *moddir_root, const char *release, char *out,
		       size_t outlen, struct vigil_err *err)
{
	static const char *const places[] = { "updates/dkms/lime.ko", "updates/lime.ko", "extra/lime.ko" };
	char tried[512] = "";
	size_t used = 0;

	if (configured) {
		if (access(configured, R_OK))
			return vigil_err_set(err, -ENOENT, "module %s: %s", configured, strerror(errno));
		if ((size_t)snprintf(out, outlen, "%s", configured) >= outlen)
			return vigil_err_set(err, -ENAMETOOLONG, "module path too long");
		return 0;
	}
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		int n = snprintf(out, outlen, "%s/lib/modules/%s/%s", moddir_root ? moddir_root : "", release,
				 places[i]);

		if (n < 0 || (size_t)n >= outlen)
			return vigil_err_set(err, -ENAMETOOLONG, "module path too long");
		if (!access(out, R_OK))
			return 0;
		n = snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? ", " : "", out);
		if (n > 0 && (size_t)n < sizeof(tried) - used)
			used += (size_t)n;
	}
	out[0] = '\0';
	return vigil_err_set(err, -ENOENT, "no LiME module for kernel %s (looked at %s; install "
			     "lime-forensics-dkms with this kernel's headers, or name one with --module)",
			     release, tried);
}

/* The first readable .ko under dir (depth-first, bounded depth). */
static int first_ko(const char *dir, int depth, struct vigil_modinfo *mi)
{
	DIR *d = depth > 6 ? NULL : opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		char p[4096];
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || (size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
			continue;
		if (de->d_type == DT_DIR)
			found = first_ko(p, depth + 1, mi);
		else if (l > 3 && !strcmp(de->d_name + l - 3, ".ko"))
			found = vigil_limemod_modinfo(p, mi, NULL) == 0;
	}
	closedir(d);
	return found;
}

int vigil_limemod_kernel_vermagic(const char *moddir_root, const char *release, char *out, size_t outlen,
				  struct vigil_err *err)
{
	struct vigil_modinfo mi;
	char dir[4096];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/lib/modules/%s/kernel", moddir_root ? moddir_root : "",
			     release) >= sizeof(dir))
		return vigil_err_set(err, -ENAMETOOLONG, "module dir too long");
	if (!first_ko(dir, 0, &mi))
		return vigil_err_set(err, -ENOENT, "no readable in-tree module under %s", dir);
	if ((size_t)snprintf(out, outlen, "%s", mi.vermagic) >= outlen)
		return vigil_err_set(err, -ENAMETOOLONG, "vermagic too long");
	return 0;
}

/* Compares two vermagic strings ignoring trailing blanks. */
static int same_words(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	while (la && a[la - 1] == ' ')
		la--;
	while (lb && b[lb - 1] == ' ')
		lb--;
	return la == lb && !memcmp(a, b, la);
}

int vigil_limemod_check_vermagic(const struct vigil_modinfo *mi, const char *release,
				 const char *kernel_vermagic, struct vigil_err *err)
{
	size_t rl = strlen(release);

	if (strncmp(mi->vermagic, release, rl) || (mi->vermagic[rl] != ' ' && mi->vermagic[rl] != '\0'))
		return vigil_err_set(err, -ENOEXEC, "vermagic mismatch: the module was built for \"%s\", "
				     "the running kernel is %s", mi->vermagic, release);
	if (kernel_vermagic && kernel_vermagic[0] && !same_words(mi->vermagic, kernel_vermagic))
		return vigil_err_set(err, -ENOEXEC, "vermagic mismatch: module \"%s\", kernel \"%s\"",
				     mi->vermagic, kernel_vermagic);
	return 0;
}
