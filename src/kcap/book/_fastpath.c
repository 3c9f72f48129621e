/* kcap.book._fastpath: the book builder's hot path, compiled.
 *
 * One function, apply_deltas(), walks a chunk of decoded records and applies every
 * orderbook_delta that needs nothing but the plain rule: the next seq of a known subscription,
 * a live book, a price and size already in the fixed-point caches, a level that stays >= 0.
 * It stops, before touching any state, at the first record that needs more (any other
 * message, a gap, a stale or unknown book, a new price text, a level that would go negative)
 * and returns its index: kcap.book.builder.BookBuilder applies that record with the pure-Python
 * builder, which holds every rule, and calls back in. So this file holds no rule of its own
 * that the Python builder lacks, and tests/book/test_fastpath.py checks that both give the same
 * books, events, counts and seqs.
 *
 * Attributes of the msgspec structs and of OrderBook/_Stream (all __slots__) are read at the
 * offsets of their member descriptors, found once by configure(); every object is checked to be
 * exactly the configured type before its slots are read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef Py_ssize_t Slot; /* the byte offset of an object slot in its instances */

static PyTypeObject *delta_type, *delta_msg_type, *book_type, *stream_type;
static Slot d_msg, d_sid, d_seq;
static Slot m_ticker, m_price, m_size, m_side;
static Slot b_live, b_yes, b_no, b_updated;
static Slot s_last_seq;
static PyObject *str_yes, *str_no;
static int configured;

#define SLOT(obj, slot) (*(PyObject **)((char *)(obj) + (slot)))

static int
find_slot(PyTypeObject *type, const char *name, Slot *slot)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)type, name);
    if (descr == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "expected %s to have a slot %s, found none",
                         type->tp_name, name);
        }
        return -1;
    }
    if (!Py_IS_TYPE(descr, &PyMemberDescr_Type)
        || ((PyDescrObject *)descr)->d_type != type) {
        PyErr_Format(PyExc_TypeError, "expected %s.%s to be a slot of %s, found %R",
                     type->tp_name, name, type->tp_name, descr);
        Py_DECREF(descr);
        return -1;
    }
    PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
    if (member->type != T_OBJECT_EX && member->type != T_OBJECT) {
        PyErr_Format(PyExc_TypeError, "expected %s.%s to hold an object, found member type %d",
                     type->tp_name, name, member->type);
        Py_DECREF(descr);
        return -1;
    }
    *slot = member->offset;
    Py_DECREF(descr);
    return 0;
}

PyDoc_STRVAR(configure_doc,
"configure(delta_type, delta_msg_type, book_type, stream_type)\n\n"
"Find the slot offsets of the four types (once, at import of kcap.book.builder).\n\n"
"Raises:\n    TypeError: a named attribute is not a plain object slot of its type.");

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyTypeObject *types[4];
    if (!PyArg_ParseTuple(args, "O!O!O!O!", &PyType_Type, &types[0], &PyType_Type, &types[1],
                          &PyType_Type, &types[2], &PyType_Type, &types[3])) {
        return NULL;
    }
    /* all found first, then all stored: a failed call leaves the last good configuration */
    static const struct {
        int type;
        const char *name;
        Slot *slot;
    } wanted[] = {
        {0, "msg", &d_msg},           {0, "sid", &d_sid},
        {0, "seq", &d_seq},           {1, "market_ticker", &m_ticker},
        {1, "price_dollars", &m_price}, {1, "delta_fp", &m_size},
        {1, "side", &m_side},         {2, "live", &b_live},
        {2, "yes", &b_yes},           {2, "no", &b_no},
        {2, "updated_ns", &b_updated}, {3, "last_seq", &s_last_seq},
    };
    enum { N_WANTED = sizeof(wanted) / sizeof(wanted[0]) };
    Slot found[N_WANTED];
    for (int i = 0; i < N_WANTED; i++) {
        if (find_slot(types[wanted[i].type], wanted[i].name, &found[i]) < 0) {
            return NULL;
        }
    }
    for (int i = 0; i < N_WANTED; i++) {
        *wanted[i].slot = found[i];
    }
    for (int i = 0; i < 4; i++) {
        Py_INCREF(types[i]);
    }
    Py_XSETREF(delta_type, types[0]);
    Py_XSETREF(delta_msg_type, types[1]);
    Py_XSETREF(book_type, types[2]);
    Py_XSETREF(stream_type, types[3]);
    configured = 1;
    Py_RETURN_NONE;
}

/* a == b for str/int keys; -1 with an exception set on error */
static inline int
same(PyObject *a, PyObject *b)
{
    return a == b ? 1 : PyObject_RichCompareBool(a, b, Py_EQ);
}

/* Store stream.last_seq = value; -1 on error. */
static int
store_last_seq(PyObject *stream, long long value)
{
    PyObject *v = PyLong_FromLongLong(value);
    if (v == NULL) {
        return -1;
    }
    Py_XSETREF(SLOT(stream, s_last_seq), v);
    return 0;
}

PyDoc_STRVAR(apply_deltas_doc,
"apply_deltas(streams, books, prices, sizes, conns, messages, recv_ns, start)\n"
"    -> (stop, applied, changed)\n\n"
"Apply the plain orderbook_delta records from index ``start`` on, and stop at the first\n"
"record that is not one (or at the end).\n\n"
"Args:\n"
"    streams: BookBuilder._streams, ``(conn, sid) -> _Stream``.\n"
"    books: BookBuilder.books, ``market_ticker -> OrderBook``.\n"
"    prices, sizes: kcap.fixedpoint.PRICE_CC_CACHE and SIZE_CX_CACHE.\n"
"    conns, messages, recv_ns: lists of equal length (connection ids, decoded frames,\n"
"        receive times in Unix ns).\n"
"    start: the first index.\n\n"
"Returns:\n"
"    stop: the index of the first record not applied (``len(messages)`` at the end);\n"
"        nothing of that record has been applied.\n"
"    applied: how many deltas were applied.\n"
"    changed: the last book changed, or None.\n\n"
"Raises:\n"
"    RuntimeError: configure() was not called.\n"
"    TypeError: an argument of the wrong type.\n"
"    ValueError: lists of different lengths, or ``start`` out of range.");

static PyObject *
apply_deltas(PyObject *module, PyObject *args)
{
    PyObject *streams, *books, *prices, *sizes, *conns, *messages, *recv_ns;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!O!n", &PyDict_Type, &streams, &PyDict_Type, &books,
                          &PyDict_Type, &prices, &PyDict_Type, &sizes, &PyList_Type, &conns,
                          &PyList_Type, &messages, &PyList_Type, &recv_ns, &start)) {
        return NULL;
    }
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "kcap.book._fastpath.configure() was not called");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(messages);
    if (PyList_GET_SIZE(conns) != n || PyList_GET_SIZE(recv_ns) != n) {
        PyErr_Format(PyExc_ValueError,
                     "expected conns, messages and recv_ns of equal length, found %zd, %zd, %zd",
                     PyList_GET_SIZE(conns), n, PyList_GET_SIZE(recv_ns));
        return NULL;
    }
    if (start < 0 || start > n) {
        PyErr_Format(PyExc_ValueError, "expected 0 <= start <= %zd, found %zd", n, start);
        return NULL;
    }

    /* strong references: the current stream, its conn and sid, the current book */
    PyObject *stream = NULL, *stream_conn = NULL, *stream_sid = NULL;
    PyObject *ticker = NULL, *book = NULL, *yes = NULL, *no = NULL;
    PyObject *changed = NULL;
    long long expected = 0, flushed = 0;
    Py_ssize_t applied = 0, i;
    int failed = 0;

    for (i = start; i < n; i++) {
        PyObject *m = PyList_GET_ITEM(messages, i);
        if (!Py_IS_TYPE(m, delta_type)) {
            break;
        }
        PyObject *seq_o = SLOT(m, d_seq), *sid = SLOT(m, d_sid), *msg = SLOT(m, d_msg);
        if (seq_o == NULL || !PyLong_CheckExact(seq_o) || sid == NULL || msg == NULL
            || !Py_IS_TYPE(msg, delta_msg_type)) {
            break;
        }
        int overflow;
        long long seq = PyLong_AsLongLongAndOverflow(seq_o, &overflow);
        if (overflow || (seq == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            break;
        }
        PyObject *conn = PyList_GET_ITEM(conns, i);
        int same_stream = 0;
        if (stream != NULL) {
            int a = same(sid, stream_sid), b = a == 1 ? same(conn, stream_conn) : a;
            if (a < 0 || b < 0) {
                failed = 1;
                break;
            }
            same_stream = a && b;
        }
        if (!same_stream) {
            if (stream != NULL && expected - 1 != flushed && store_last_seq(stream, expected - 1)) {
                failed = 1;
                break;
            }
            Py_CLEAR(stream);
            Py_CLEAR(stream_conn);
            Py_CLEAR(stream_sid);
            Py_CLEAR(ticker);
            PyObject *key = PyTuple_Pack(2, conn, sid);
            if (key == NULL) {
                failed = 1;
                break;
            }
            PyObject *found = PyDict_GetItemWithError(streams, key);
            Py_DECREF(key);
            if (found == NULL) {
                if (PyErr_Occurred()) {
                    failed = 1;
                }
                break;
            }
            if (!Py_IS_TYPE(found, stream_type)) {
                break;
            }
            PyObject *last_o = SLOT(found, s_last_seq);
            if (last_o == NULL || !PyLong_CheckExact(last_o)) {
                break; /* no seq seen yet: the Python builder starts the count */
            }
            long long last = PyLong_AsLongLongAndOverflow(last_o, &overflow);
            if (overflow || (last == -1 && PyErr_Occurred()) || last == LLONG_MAX) {
                PyErr_Clear();
                break;
            }
            stream = Py_NewRef(found);
            stream_conn = Py_NewRef(conn);
            stream_sid = Py_NewRef(sid);
            expected = last + 1;
            flushed = last;
        }
        if (seq != expected) {
            break; /* a gap, a duplicate or a regression */
        }
        PyObject *t = SLOT(msg, m_ticker);
        if (t == NULL) {
            break;
        }
        int same_ticker = 0;
        if (ticker != NULL) {
            same_ticker = same(t, ticker);
            if (same_ticker < 0) {
                failed = 1;
                break;
            }
        }
        if (!same_ticker) {
            Py_CLEAR(ticker);
            PyObject *b = PyDict_GetItemWithError(books, t);
            if (b == NULL) {
                if (PyErr_Occurred()) {
                    failed = 1;
                }
                break;
            }
            if (!Py_IS_TYPE(b, book_type) || SLOT(b, b_live) != stream) {
                break; /* stale, or another subscription's book */
            }
            PyObject *y = SLOT(b, b_yes), *o = SLOT(b, b_no);
            if (y == NULL || o == NULL || !PyDict_CheckExact(y) || !PyDict_CheckExact(o)) {
                break;
            }
            ticker = Py_NewRef(t);
            Py_XSETREF(book, Py_NewRef(b));
            Py_XSETREF(yes, Py_NewRef(y));
            Py_XSETREF(no, Py_NewRef(o));
        }
        PyObject *side = SLOT(msg, m_side), *ladder;
        if (side == str_yes) {
            ladder = yes;
        }
        else if (side == str_no) {
            ladder = no;
        }
        else {
            int is_yes = side == NULL ? 0 : same(side, str_yes);
            int is_no = side == NULL || is_yes ? 0 : same(side, str_no);
            if (is_yes < 0 || is_no < 0) {
                failed = 1;
                break;
            }
            if (!is_yes && !is_no) {
                break;
            }
            ladder = is_yes ? yes : no;
        }
        PyObject *price_text = SLOT(msg, m_price), *size_text = SLOT(msg, m_size);
        if (price_text == NULL || size_text == NULL || !PyUnicode_CheckExact(price_text)
            || !PyUnicode_CheckExact(size_text)) {
            break; /* legacy integer fields: the Python builder converts them */
        }
        PyObject *price = PyDict_GetItemWithError(prices, price_text);
        PyObject *size_o = price == NULL ? NULL : PyDict_GetItemWithError(sizes, size_text);
        if (size_o == NULL) {
            if (PyErr_Occurred()) {
                failed = 1;
            }
            break; /* a text not parsed yet */
        }
        if (!PyLong_CheckExact(price) || !PyLong_CheckExact(size_o)) {
            break;
        }
        long long size = PyLong_AsLongLongAndOverflow(size_o, &overflow);
        if (overflow || (size == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            break;
        }
        PyObject *level = PyDict_GetItemWithError(ladder, price);
        if (level == NULL && PyErr_Occurred()) {
            failed = 1;
            break;
        }
        if (level != NULL) {
            if (!PyLong_CheckExact(level)) {
                break;
            }
            long long old = PyLong_AsLongLongAndOverflow(level, &overflow);
            if (overflow || (old == -1 && PyErr_Occurred()) || (size > 0 && old > LLONG_MAX - size)
                || (size < 0 && old < LLONG_MIN - size)) {
                PyErr_Clear();
                break;
            }
            long long now = old + size;
            if (now > 0) {
                PyObject *v = PyLong_FromLongLong(now);
                if (v == NULL || PyDict_SetItem(ladder, price, v) < 0) {
                    Py_XDECREF(v);
                    failed = 1;
                    break;
                }
                Py_DECREF(v);
            }
            else if (now == 0) {
                if (PyDict_DelItem(ladder, price) < 0) {
                    failed = 1;
                    break;
                }
            }
            else {
                break; /* a negative level: the Python builder reports it */
            }
        }
        else if (size > 0) {
            if (PyDict_SetItem(ladder, price, size_o) < 0) {
                failed = 1;
                break;
            }
        }
        else {
            break; /* a level that is not there cannot shrink: reported by the Python builder */
        }
        expected = seq + 1;
        Py_XSETREF(SLOT(book, b_updated), Py_NewRef(PyList_GET_ITEM(recv_ns, i)));
        if (changed != book) {
            Py_XSETREF(changed, Py_NewRef(book));
        }
        applied++;
    }
    if (!failed && stream != NULL && expected - 1 != flushed
        && store_last_seq(stream, expected - 1)) {
        failed = 1;
    }
    PyObject *result = NULL;
    if (!failed) {
        result = Py_BuildValue("(nnO)", i, applied, changed == NULL ? Py_None : changed);
    }
    Py_XDECREF(stream);
    Py_XDECREF(stream_conn);
    Py_XDECREF(stream_sid);
    Py_XDECREF(ticker);
    Py_XDECREF(book);
    Py_XDECREF(yes);
    Py_XDECREF(no);
    Py_XDECREF(changed);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"apply_deltas", apply_deltas, METH_VARARGS, apply_deltas_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "kcap.book._fastpath",
    "The book builder's hot path, compiled (see kcap.book.builder).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__fastpath(void)
{
    str_yes = PyUnicode_InternFromString("yes");
    str_no = PyUnicode_InternFromString("no");
    if (str_yes == NULL || str_no == NULL) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
