/*
 * Prints the offsets and sizes flame's Python reader needs, as `name=value` lines, for the
 * CPython whose headers it is compiled against (see generate.ts beside this file). Every value
 * comes from the compiler (offsetof, sizeof, or bit-field masks found by setting a field in a
 * zeroed struct), so the table is the installed headers' own word.
 */
#define Py_BUILD_CORE 1
#define Py_BUILD_CORE_BUILTIN 1
#define NDEBUG 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>

#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x03080000
#include "internal/pystate.h"
#elif PY_VERSION_HEX >= 0x03080000 && PY_VERSION_HEX < 0x03090000
#include "internal/pycore_pystate.h"
#elif PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_code.h"
#include "internal/pycore_object.h"
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_gil.h"
#endif
#if PY_VERSION_HEX >= 0x030A0000
#include "internal/pycore_moduleobject.h"
#endif

#define OFF(name, type, member) printf("%s=%zu\n", name, (size_t)offsetof(type, member))
#define SIZE(name, type) printf("%s=%zu\n", name, (size_t)sizeof(type))
#define VAL(name, v) printf("%s=%lld\n", name, (long long)(v))

/* The bits a bit-field occupies in the 32-bit word at `offset` of a zeroed struct. */
static unsigned bits_of(const void *object, size_t offset) {
  uint32_t word;
  memcpy(&word, (const char *)object + offset, sizeof word);
  return word;
}

int main(void) {
  VAL("version_hex", PY_VERSION_HEX);

  /* Runtime state: where the interpreters list and the GIL are. */
#if PY_VERSION_HEX >= 0x03070000
  OFF("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
#endif
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x030C0000
  OFF("runtime.gil_locked", _PyRuntimeState, ceval.gil.locked);
  OFF("runtime.gil_last_holder", _PyRuntimeState, ceval.gil.last_holder);
#endif

  /* Interpreter state. */
  OFF("interp.next", PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("interp.threads_head", PyInterpreterState, threads.head);
#else
  OFF("interp.threads_head", PyInterpreterState, tstate_head);
#endif
#if PY_VERSION_HEX >= 0x030C0000
  OFF("interp.modules", PyInterpreterState, imports.modules);
  OFF("interp.ceval_gil", PyInterpreterState, ceval.gil);
  OFF("gil.locked", struct _gil_runtime_state, locked);
  OFF("gil.last_holder", struct _gil_runtime_state, last_holder);
#else
  OFF("interp.modules", PyInterpreterState, modules);
#endif

  /* Thread state. */
  OFF("thread.next", PyThreadState, next);
  OFF("thread.interp", PyThreadState, interp);
  OFF("thread.thread_id", PyThreadState, thread_id);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("thread.native_thread_id", PyThreadState, native_thread_id);
#endif
#if PY_VERSION_HEX >= 0x030D0000
  OFF("thread.current_frame", PyThreadState, current_frame);
#elif PY_VERSION_HEX >= 0x030B0000
  OFF("thread.cframe", PyThreadState, cframe);
  OFF("cframe.current_frame", _PyCFrame, current_frame);
#else
  OFF("thread.frame", PyThreadState, frame);
#endif

  /* Frames. */
#if PY_VERSION_HEX >= 0x030B0000
  OFF("iframe.previous", _PyInterpreterFrame, previous);
  OFF("iframe.owner", _PyInterpreterFrame, owner);
#if PY_VERSION_HEX >= 0x030D0000
  OFF("iframe.code", _PyInterpreterFrame, f_executable);
  OFF("iframe.instr", _PyInterpreterFrame, instr_ptr);
#else
  OFF("iframe.code", _PyInterpreterFrame, f_code);
  OFF("iframe.instr", _PyInterpreterFrame, prev_instr);
#endif
#if PY_VERSION_HEX < 0x030C0000
  OFF("iframe.is_entry", _PyInterpreterFrame, is_entry);
#else
  VAL("iframe.owned_by_cstack", FRAME_OWNED_BY_CSTACK);
#endif
  OFF("iframe.localsplus", _PyInterpreterFrame, localsplus);
#else
  OFF("frame.back", PyFrameObject, f_back);
  OFF("frame.code", PyFrameObject, f_code);
  OFF("frame.lasti", PyFrameObject, f_lasti);
  OFF("frame.lineno", PyFrameObject, f_lineno);
  OFF("frame.localsplus", PyFrameObject, f_localsplus);
#endif

  /* Code objects. */
  OFF("code.name", PyCodeObject, co_name);
  OFF("code.filename", PyCodeObject, co_filename);
  OFF("code.firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("code.qualname", PyCodeObject, co_qualname);
  OFF("code.linetable", PyCodeObject, co_linetable);
  OFF("code.code_adaptive", PyCodeObject, co_code_adaptive);
#elif PY_VERSION_HEX >= 0x030A0000
  OFF("code.linetable", PyCodeObject, co_linetable);
#else
  OFF("code.lnotab", PyCodeObject, co_lnotab);
#endif
  SIZE("code.size", PyCodeObject);

  /* Objects and types. */
  OFF("object.type", PyObject, ob_type);
  OFF("varobject.size", PyVarObject, ob_size);
  OFF("type.name", PyTypeObject, tp_name);
  OFF("type.basicsize", PyTypeObject, tp_basicsize);
  OFF("type.dictoffset", PyTypeObject, tp_dictoffset);
  OFF("type.flags", PyTypeObject, tp_flags);
#if PY_VERSION_HEX >= 0x030B0000
  OFF("heaptype.cached_keys", PyHeapTypeObject, ht_cached_keys);
#endif

  /* Strings: 2.7's str, 3.x's compact unicode (kind and flags in the `state` bit-fields). */
#if PY_MAJOR_VERSION == 2
  OFF("bytes.size", PyStringObject, ob_size);
  OFF("bytes.data", PyStringObject, ob_sval);
#else
  OFF("bytes.size", PyBytesObject, ob_base.ob_size);
  OFF("bytes.data", PyBytesObject, ob_sval);
  OFF("unicode.length", PyASCIIObject, length);
  OFF("unicode.state", PyASCIIObject, state);
  SIZE("unicode.ascii_size", PyASCIIObject);
  SIZE("unicode.compact_size", PyCompactUnicodeObject);
  {
    PyASCIIObject o;
    size_t at = offsetof(PyASCIIObject, state);
    memset(&o, 0, sizeof o);
    o.state.kind = 7;
    VAL("unicode.kind_mask", bits_of(&o, at));
    memset(&o, 0, sizeof o);
    o.state.compact = 1;
    VAL("unicode.compact_mask", bits_of(&o, at));
    memset(&o, 0, sizeof o);
    o.state.ascii = 1;
    VAL("unicode.ascii_mask", bits_of(&o, at));
  }
  /* Integers (thread idents are the keys of threading's registry). */
#if PY_VERSION_HEX >= 0x030C0000
  OFF("long.tag", PyLongObject, long_value.lv_tag);
  OFF("long.digits", PyLongObject, long_value.ob_digit);
#else
  OFF("long.digits", PyLongObject, ob_digit);
#endif
  VAL("long.digit_bits", PyLong_SHIFT);
#endif
#if PY_MAJOR_VERSION == 2
  OFF("int.value", PyIntObject, ob_ival);
#endif

  /* Dictionaries: the object, and from 3.11 its keys object (older ones keep it private). */
#if PY_MAJOR_VERSION == 2
  OFF("dict.mask", PyDictObject, ma_mask);
  OFF("dict.table", PyDictObject, ma_table);
  SIZE("dict.entry_size", PyDictEntry);
#else
  OFF("dict.keys", PyDictObject, ma_keys);
  OFF("dict.values", PyDictObject, ma_values);
#endif
#if PY_VERSION_HEX >= 0x030B0000
  OFF("dictkeys.log2_size", PyDictKeysObject, dk_log2_size);
  OFF("dictkeys.log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
  OFF("dictkeys.kind", PyDictKeysObject, dk_kind);
  OFF("dictkeys.nentries", PyDictKeysObject, dk_nentries);
  OFF("dictkeys.indices", PyDictKeysObject, dk_indices);
  SIZE("dictkeys.entry_size", PyDictKeyEntry);
  SIZE("dictkeys.unicode_entry_size", PyDictUnicodeEntry);
  VAL("dictkeys.kind_general", DICT_KEYS_GENERAL);
#endif
#if PY_VERSION_HEX >= 0x030D0000
  OFF("dictvalues.values", PyDictValues, values);
#endif
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
  {
    /* 3.12 keeps a tagged dict-or-values word before the object header. */
    PyObject *slots[8];
    PyObject *object = (PyObject *)&slots[4];
    VAL("object.managed_dict",
        (char *)_PyObject_DictOrValuesPointer(object) - (char *)object);
  }
#elif PY_VERSION_HEX >= 0x030D0000
  VAL("object.managed_dict", MANAGED_DICT_OFFSET);
#elif PY_VERSION_HEX >= 0x030B0000
  VAL("object.managed_dict", MANAGED_DICT_OFFSET);
  {
    /* 3.11 keeps the shared-keys values pointer apart from the dict pointer. */
    PyObject *slots[8];
    PyObject *object = (PyObject *)&slots[4];
    VAL("object.managed_values", (char *)_PyObject_ValuesPointer(object) - (char *)object);
  }
#endif
  VAL("tpflags.managed_dict",
#ifdef Py_TPFLAGS_MANAGED_DICT
      Py_TPFLAGS_MANAGED_DICT
#else
      0
#endif
  );
  VAL("tpflags.inline_values",
#ifdef Py_TPFLAGS_INLINE_VALUES
      Py_TPFLAGS_INLINE_VALUES
#else
      0
#endif
  );

#if PY_VERSION_HEX >= 0x030D0000
  /*
   * 3.13+: where in _Py_DebugOffsets (at the start of _PyRuntime) the running interpreter
   * states each offset itself. The reader prefers those values to this table's; this part
   * tells it where to find them. `debug.X` is the position of the value for field X.
   */
#define DEBUG(field, member) \
  printf("debug.%s=%zu\n", field, (size_t)offsetof(_Py_DebugOffsets, member))
  OFF("debug.cookie", _Py_DebugOffsets, cookie);
  OFF("debug.version", _Py_DebugOffsets, version);
  OFF("debug.free_threaded", _Py_DebugOffsets, free_threaded);
  DEBUG("runtime.interpreters_head", runtime_state.interpreters_head);
  DEBUG("interp.next", interpreter_state.next);
  DEBUG("interp.threads_head", interpreter_state.threads_head);
  DEBUG("interp.modules", interpreter_state.imports_modules);
  DEBUG("interp.gil_locked", interpreter_state.gil_runtime_state_locked);
  DEBUG("interp.gil_last_holder", interpreter_state.gil_runtime_state_holder);
  DEBUG("thread.next", thread_state.next);
  DEBUG("thread.interp", thread_state.interp);
  DEBUG("thread.current_frame", thread_state.current_frame);
  DEBUG("thread.thread_id", thread_state.thread_id);
  DEBUG("thread.native_thread_id", thread_state.native_thread_id);
  DEBUG("iframe.previous", interpreter_frame.previous);
  DEBUG("iframe.code", interpreter_frame.executable);
  DEBUG("iframe.instr", interpreter_frame.instr_ptr);
  DEBUG("iframe.owner", interpreter_frame.owner);
  DEBUG("iframe.localsplus", interpreter_frame.localsplus);
  DEBUG("code.size", code_object.size);
  DEBUG("code.filename", code_object.filename);
  DEBUG("code.name", code_object.name);
  DEBUG("code.qualname", code_object.qualname);
  DEBUG("code.linetable", code_object.linetable);
  DEBUG("code.firstlineno", code_object.firstlineno);
  DEBUG("code.code_adaptive", code_object.co_code_adaptive);
  DEBUG("object.type", pyobject.ob_type);
  DEBUG("type.name", type_object.tp_name);
  DEBUG("type.flags", type_object.tp_flags);
  DEBUG("dict.keys", dict_object.ma_keys);
  DEBUG("dict.values", dict_object.ma_values);
  DEBUG("long.tag", long_object.lv_tag);
  DEBUG("long.digits", long_object.ob_digit);
  DEBUG("bytes.size", bytes_object.ob_size);
  DEBUG("bytes.data", bytes_object.ob_sval);
  DEBUG("unicode.state", unicode_object.state);
  DEBUG("unicode.length", unicode_object.length);
  DEBUG("unicode.ascii_size", unicode_object.asciiobject_size);
  SIZE("debug.size", _Py_DebugOffsets);
#endif

  /* Modules. */
#if PY_VERSION_HEX >= 0x030A0000
  OFF("module.dict", PyModuleObject, md_dict);
#endif
  return 0;
}
