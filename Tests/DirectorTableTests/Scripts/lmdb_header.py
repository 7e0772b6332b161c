"""Checks a Director state table's data.mdb before an LMDB binding maps it.

LMDB reads through a memory map: a data.mdb shorter than its header says (truncated by a
full disk or a bad copy) kills the reader with SIGBUS, which Python cannot catch. This is the
same check `director ps` makes (Sources/DirectorTable/LMDBFiles.swift): both meta pages
valid, a sane page size, every page they use inside the file. Deeper page corruption is not
caught here; `director __check-table DIR` (what `director run` runs in a child process)
reads every page.
"""
import os
import struct

MAGIC = 0xBEEFC0DE
NO_PAGE = 0xFFFFFFFFFFFFFFFF


def damage(table_dir):
    """Returns None when TABLE_DIR/data.mdb looks sound (or is absent/empty), else one line."""
    path = os.path.join(table_dir, "data.mdb")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot read the state table {path}: {e.strerror}"
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return None

        def meta(offset):
            b = os.pread(fd, 160, offset)
            if len(b) < 160:
                raise ValueError(f"{size} bytes, shorter than its header")
            (flags,) = struct.unpack_from("<H", b, 10)
            magic, version = struct.unpack_from("<II", b, 16)
            if not flags & 0x08 or magic != MAGIC:
                raise ValueError("not an LMDB meta page")
            if version != 1:
                raise ValueError(f"LMDB data version {version}")
            (page_size,) = struct.unpack_from("<I", b, 40)
            if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
                raise ValueError(f"page size {page_size}")
            (free_root,) = struct.unpack_from("<Q", b, 80)
            main_root, last_page = struct.unpack_from("<QQ", b, 128)
            return page_size, last_page, (free_root, main_root)

        try:
            first = meta(0)
            if size < 2 * first[0]:
                raise ValueError(f"{size} bytes, shorter than its two meta pages")
            second = meta(first[0])
            for page_size, last_page, roots in (first, second):
                if last_page < 1 or (last_page + 1) * page_size > size:
                    raise ValueError(f"{size} bytes, but its header uses pages up to {last_page} of {page_size} bytes")
                for root in roots:
                    if root != NO_PAGE and not 2 <= root <= last_page:
                        raise ValueError(f"a root page {root} outside the {last_page + 1} pages it uses")
        except ValueError as e:
            return f"the state table {path} is damaged ({e})"
        return None
    finally:
        os.close(fd)
