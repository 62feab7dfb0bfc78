/* Reading CoreCLR's contract descriptor (`DotNetRuntimeContractDescriptor`'s JSON) into an fr_layout.
 *
 * Two shapes exist. .NET 10 ("version":0): contract versions are numbers ("Thread":1), globals are
 * [value,"type"] pairs (["0x1","nuint"], ["x64","string"]), fields are offsets or [offset,"type"]. .NET 11
 * ("version":2): contract versions are strings ("Thread":"c1"), plain globals are bare strings ("0x1", and
 * OperatingSystem "Unix" where 10.0 said "1"), fields are bare offsets, and a `subDescriptors` member (the
 * GC's own descriptor) sits beside them. In both, a pointer global is [[index],"pointer"] or [index]: an
 * index into the descriptor's pointer table. Both are read by one walker that accepts either form of every
 * value; nothing here knows which runtime version it reads.
 *
 * The fingerprint is the list of exactly the descriptor values FiberRuntime reads, one "name=value" per line
 * in a fixed order ("-" for an optional field the descriptor does not describe). The managed policy
 * (src/FiberRuntime/Interop/RuntimePolicy.cs) compares it with the layouts the project has verified: a
 * descriptor that only adds or changes fields FiberRuntime does not read keeps its fingerprint. */
#include "fr_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---- a minimal JSON walker (objects, arrays, strings, numbers, literals) over a NUL-terminated text ---- */
static const char* ws(const char* p) { while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++; return p; }

static const char* skip_string(const char* p) {        /* p at opening quote */
    for (p++; *p && *p != '"'; p++) if (*p == '\\' && p[1]) p++;
    return *p ? p + 1 : NULL;
}

static const char* skip_value(const char* p, int depth) {
    p = ws(p);
    if (depth > 32) return NULL;
    if (*p == '"') return skip_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                if (*p != '"' || !(p = skip_string(p))) return NULL;
                p = ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = skip_value(p, depth + 1))) return NULL;
            p = ws(p);
            if (*p == ',') { p = ws(p + 1); continue; }
            return *p == close ? p + 1 : NULL;
        }
    }
    const char* start = p;                              /* number / literal */
    while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') p++;
    return p > start ? p : NULL;
}

/* Value of `key` directly inside the object starting at `obj` ('{'), or NULL. */
static const char* member(const char* obj, const char* key) {
    if (!obj || *(obj = ws(obj)) != '{') return NULL;
    size_t klen = strlen(key);
    const char* p = ws(obj + 1);
    while (*p == '"') {
        const char* kend = skip_string(p);
        if (!kend) return NULL;
        int match = (size_t)(kend - p - 2) == klen && memcmp(p + 1, key, klen) == 0;
        p = ws(kend);
        if (*p++ != ':') return NULL;
        p = ws(p);
        if (match) return p;
        if (!(p = skip_value(p, 0))) return NULL;
        p = ws(p);
        if (*p == ',') p = ws(p + 1);
    }
    return NULL;
}

/* A number in any of the descriptor's forms: 56, "0x38", [56,"uint32"], ["0x38","nuint"]. */
static int read_number(const char* v, long* out) {
    if (!v) return 0;
    v = ws(v);
    if (*v == '[') v = ws(v + 1);
    int quoted = *v == '"';
    if (quoted) v++;
    if (!(*v >= '0' && *v <= '9') && *v != '-') return 0;
    char* end;
    long x = strtol(v, &end, 0);
    if (end == v || (quoted && *end != '"')) return 0;
    *out = x;
    return 1;
}

/* A string global in either form ("Unix" or ["x64","string"]) copied into buf; 0 when absent or not a string. */
static int read_string(const char* v, char* buf, size_t n) {
    if (!v) return 0;
    v = ws(v);
    if (*v == '[') v = ws(v + 1);
    if (*v != '"') return 0;
    const char* end = skip_string(v);
    if (!end) return 0;
    size_t len = (size_t)(end - v - 2);
    if (len + 1 > n) len = n - 1;
    memcpy(buf, v + 1, len);
    buf[len] = 0;
    return 1;
}

/* A contract version: 1 (.NET 10) or "c1" (.NET 11). */
static int read_contract_version(const char* v, long* out) {
    if (!v) return 0;
    v = ws(v);
    if (v[0] == '"' && v[1] == 'c') {
        char* end;
        long x = strtol(v + 2, &end, 10);
        if (end == v + 2 || *end != '"') return 0;
        *out = x;
        return 1;
    }
    return read_number(v, out);
}

/* A pointer global's index into the pointer table: [[3],"pointer"] or [3]. */
static int read_pointer_index(const char* v, long* out) {
    if (!v || *(v = ws(v)) != '[') return 0;
    v = ws(v + 1);
    if (*v == '[') return read_number(v, out);
    const char* after;
    if (!read_number(v, out) || !(after = skip_value(v, 0))) return 0;
    return *ws(after) == ']';                           /* [3] alone; [3,"uint32"] is a direct value */
}

static long field(const char* types, const char* type, const char* name) {
    long v;
    return read_number(member(member(types, type), name), &v) ? v : -1;
}

long fr_descriptor_field(const char* json, const char* type, const char* name) {
    const char* types = json ? member(json, "types") : NULL;
    return types ? field(types, type, name) : -1;
}

/* Every descriptor field FiberRuntime reads, in fingerprint order. OPTIONAL: -1 when not described. GCFRAME: read
 * when the descriptor has a GCFrame type (.NET 11+), else the layout every earlier runtime has (checked live by
 * start-up verification) and "-" in the fingerprint. */
enum { REQUIRED, OPTIONAL, GCFRAME };
static const struct { const char* type; const char* name; size_t offset; int kind; long assumed; } FIELDS[] = {
    { "Thread", "Frame", offsetof(fr_layout, thread_frame), REQUIRED, 0 },
    { "Thread", "PreemptiveGCDisabled", offsetof(fr_layout, thread_pgc_disabled), REQUIRED, 0 },
    { "Thread", "OSId", offsetof(fr_layout, thread_osid), REQUIRED, 0 },
    { "Thread", "LinkNext", offsetof(fr_layout, thread_link_next), REQUIRED, 0 },
    { "Thread", "ExceptionTracker", offsetof(fr_layout, thread_exception_tracker), REQUIRED, 0 },
    { "Thread", "GCFrame", offsetof(fr_layout, thread_gcframe_described), OPTIONAL, 0 },
    { "Thread", "CachedStackBase", offsetof(fr_layout, thread_stack_base), OPTIONAL, 0 },
    { "Thread", "CachedStackLimit", offsetof(fr_layout, thread_stack_limit), OPTIONAL, 0 },
    { "ThreadStore", "FirstThreadLink", offsetof(fr_layout, threadstore_first), REQUIRED, 0 },
    { "Frame", "Next", offsetof(fr_layout, frame_next), REQUIRED, 0 },
    { "InlinedCallFrame", "!", offsetof(fr_layout, icf_size), REQUIRED, 0 },
    { "InlinedCallFrame", "CallSiteSP", offsetof(fr_layout, icf_callsite_sp), REQUIRED, 0 },
    { "InlinedCallFrame", "CallerReturnAddress", offsetof(fr_layout, icf_caller_ra), REQUIRED, 0 },
    { "ExceptionInfo", "PreviousNestedInfo", offsetof(fr_layout, exinfo_prev), REQUIRED, 0 },
    { "ExceptionInfo", "ThrownObject", offsetof(fr_layout, exinfo_thrown), REQUIRED, 0 },
    { "GCFrame", "Next", offsetof(fr_layout, gcframe_next), GCFRAME, 0 },
    { "GCFrame", "ObjRefs", offsetof(fr_layout, gcframe_objrefs), GCFRAME, 16 },
    { "GCFrame", "NumObjRefs", offsetof(fr_layout, gcframe_count), GCFRAME, 24 },
};
#define LAYOUT_FIELD(L, i) (*(long*)((char*)(L) + FIELDS[i].offset))

int fr_descriptor_parse(const char* json, fr_layout* L, long* threadstore_index, char* err, size_t errlen) {
    memset(L, 0, sizeof *L);
    L->thread_gcframe = -1;
    if (!json || *ws(json) != '{' || !skip_value(json, 0)) {
        fr_set_err(err, errlen, "the runtime contract descriptor is not well-formed JSON");
        return FR_E_RUNTIME;
    }
    const char* types = member(json, "types");
    const char* globals = member(json, "globals");
    const char* contracts = member(json, "contracts");
    if (!types || !globals || !contracts) {
        fr_set_err(err, errlen, "the runtime contract descriptor lacks %s", !types ? "types" : !globals ? "globals" : "contracts");
        return FR_E_RUNTIME;
    }
    if (!read_contract_version(member(contracts, "Thread"), &L->thread_contract)) {
        fr_set_err(err, errlen, "the runtime contract descriptor has no Thread contract version");
        return FR_E_RUNTIME;
    }
    if (L->thread_contract != 1) {
        fr_set_err(err, errlen, "the runtime's Thread contract is version %ld (FiberRuntime knows version 1)", L->thread_contract);
        return FR_E_RUNTIME;
    }
    if (!read_string(member(globals, "Architecture"), L->arch, sizeof L->arch)) {
        fr_set_err(err, errlen, "the runtime contract descriptor has no Architecture global, so it cannot be confirmed to describe this "
                                "process (an " FR_DESCRIPTOR_ARCH " process)");
        return FR_E_RUNTIME;
    }
    if (strcmp(L->arch, FR_DESCRIPTOR_ARCH) != 0) {
        fr_set_err(err, errlen, "the runtime contract descriptor describes architecture '%s', but this libfiberrt is built for '"
                                FR_DESCRIPTOR_ARCH "'", L->arch);
        return FR_E_RUNTIME;
    }
    if (!read_string(member(globals, "OperatingSystem"), L->os, sizeof L->os)) strcpy(L->os, "-");
    /* described from .NET 11 on; before, Thread.GCFrame is discovered and the GCFrame layout is assumed and checked live */
    L->gcframe_described = member(types, "GCFrame") != NULL;
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        long v = FIELDS[i].kind == GCFRAME && !L->gcframe_described ? FIELDS[i].assumed : field(types, FIELDS[i].type, FIELDS[i].name);
        if (v < 0 && FIELDS[i].kind != OPTIONAL) {
            fr_set_err(err, errlen, "the runtime contract descriptor has no %s.%s", FIELDS[i].type, FIELDS[i].name);
            return FR_E_RUNTIME;
        }
        LAYOUT_FIELD(L, i) = v;
    }
    long icf_id = -1, ts_index = -1;
    if (!read_number(member(globals, "InlinedCallFrameIdentifier"), &icf_id) || icf_id < 0) {
        fr_set_err(err, errlen, "the runtime contract descriptor has no global InlinedCallFrameIdentifier");
        return FR_E_RUNTIME;
    }
    if (!read_pointer_index(member(globals, "ThreadStore"), &ts_index) || ts_index < 0) {
        fr_set_err(err, errlen, "the runtime contract descriptor has no pointer global ThreadStore");
        return FR_E_RUNTIME;
    }
    if ((L->thread_stack_base < 0) != (L->thread_stack_limit < 0)) {
        fr_set_err(err, errlen, "the runtime contract descriptor describes only one of Thread.CachedStackBase and Thread.CachedStackLimit");
        return FR_E_RUNTIME;
    }
    L->icf_identifier = (uintptr_t)icf_id;
    if (threadstore_index) *threadstore_index = ts_index;
    return FR_OK;
}

int fr_layout_fingerprint(const fr_layout* L, char* out, size_t n) {
    int w = snprintf(out, n, "Architecture=%s\nOperatingSystem=%s\ncontract Thread=%ld\n", L->arch, L->os, L->thread_contract);
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS && w >= 0 && (size_t)w < n; i++) {
        long v = FIELDS[i].kind == GCFRAME && !L->gcframe_described ? -1 : LAYOUT_FIELD(L, i);
        w += v < 0 ? snprintf(out + w, n - (size_t)w, "%s.%s=-\n", FIELDS[i].type, FIELDS[i].name)
                   : snprintf(out + w, n - (size_t)w, "%s.%s=%ld\n", FIELDS[i].type, FIELDS[i].name, v);
    }
    if (w >= 0 && (size_t)w < n) w += snprintf(out + w, n - (size_t)w, "InlinedCallFrameIdentifier=%lu\n", (unsigned long)L->icf_identifier);
    return w >= 0 && (size_t)w < n ? FR_OK : FR_E_INVAL;
}

int fr_descriptor_fingerprint(const char* json, char* out, size_t outlen, char* err, size_t errlen) {
    fr_layout L;
    int rc = fr_descriptor_parse(json, &L, NULL, err, errlen);
    if (rc != FR_OK) return rc;
    if (fr_layout_fingerprint(&L, out, outlen) != FR_OK) { fr_set_err(err, errlen, "fingerprint buffer too small"); return FR_E_INVAL; }
    return FR_OK;
}
