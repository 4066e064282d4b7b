/*
 * oot_driver.c -- "oot", an in-memory queue driver built OUTSIDE the qplug
 * tree: it sees only <qplug/driver.h> (no SDK, no core, no loader), is plain
 * C99 + pthreads, and has its own CMake project. It exists to prove the ABI is
 * real: a third party with nothing but the header can write a driver that
 * loads and passes the conformance suite.
 *
 * Model: one mutex per driver instance (the "hub") guards every queue and
 * consumer; each queue has a condition variable its consumer threads wait on.
 * A message is one allocation (struct qplug_delivery below) that is also its
 * delivery handle while delivered. Unsubscribe requeues a COPY of each
 * unsettled delivery, so the host's view of the original stays valid until it
 * settles it; such a detached delivery holds a reference on the hub so it can
 * still be settled (with CANCELED) after the driver was closed.
 */
#include <pthread.h>
#include <qplug/driver.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOT_DEFAULT_PREFETCH 16u

/* ------------------------------------------------------------------------ */
/* State                                                                     */
/* ------------------------------------------------------------------------ */

/* The lock shared by a driver instance and every delivery it handed out. */
typedef struct oot_hub {
  pthread_mutex_t mu;
  size_t refs; /* 1 for the open driver + 1 per detached delivery */
} oot_hub;

/* A stored message; while delivered it is also the delivery handle. */
struct qplug_delivery {
  struct qplug_delivery *next; /* queue FIFO, or the consumer's outstanding list */
  struct qplug_delivery *prev; /* outstanding list only */
  oot_hub *hub;
  qplug_consumer *consumer; /* delivered to; NULL while queued or once detached */
  qplug_message view;       /* spans point into this same allocation */
};
typedef struct qplug_delivery oot_msg;

struct qplug_queue {
  struct qplug_queue *next;
  qplug_driver *driver;
  char *name;
  oot_msg *head, *tail;
  size_t length;
  pthread_cond_t changed; /* a message arrived, a delivery settled, or a consumer stops */
  qplug_consumer *consumers;
};

enum { OOT_RUNNING = 0, OOT_JOINING = 1, OOT_JOINED = 2 };

struct qplug_consumer {
  qplug_consumer *next; /* in queue->consumers */
  qplug_queue *queue;
  qplug_deliver_fn deliver;
  void *host_ud;
  uint32_t prefetch;
  uint32_t in_flight;
  int stopping;
  int join_state;
  pthread_cond_t joined;
  pthread_t thread;
  oot_msg *out_head, *out_tail; /* unsettled deliveries, in delivery order */
};

struct qplug_driver {
  oot_hub *hub;
  const qplug_host_v1 *host;
  qplug_queue *queues;
  int closing;
};

/* ------------------------------------------------------------------------ */
/* Small helpers                                                              */
/* ------------------------------------------------------------------------ */

static int32_t oot_fail(qplug_status *st, int32_t code, const char *fmt, ...) {
  if (st != NULL) {
    va_list ap;
    st->code = code;
    st->flags =
        (code == QPLUG_FULL || code == QPLUG_UNAVAILABLE || code == QPLUG_TIMEOUT) ? QPLUG_STATUS_RETRYABLE : 0u;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
  }
  return code;
}

static void oot_log(const qplug_driver *d, int32_t level, const char *msg) {
  const qplug_host_v1 *h = d->host;
  if (h != NULL && h->struct_size >= offsetof(qplug_host_v1, log) + sizeof h->log && h->log != NULL) {
    h->log(h->host_ud, level, "oot", msg);
  }
}

static int oot_str_eq(qplug_str s, const char *c) { return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0; }

/* Releases one reference; the last one destroys the hub. */
static void oot_hub_release_locked(oot_hub *hub) {
  int last = --hub->refs == 0;
  pthread_mutex_unlock(&hub->mu);
  if (last) {
    pthread_mutex_destroy(&hub->mu);
    free(hub);
  }
}

/* ------------------------------------------------------------------------ */
/* Owned messages: one allocation holding the header array and every byte.    */
/* ------------------------------------------------------------------------ */

static int oot_span_ok(const void *ptr, size_t len) { return ptr != NULL || len == 0; }

/* Returns "" if `m` may be published, else what is wrong with it. */
static const char *oot_check_message(const qplug_message *m) {
  size_t i;
  if (m == NULL) return "message pointer is NULL";
  if (m->struct_size < offsetof(qplug_message, attempts)) return "message struct_size too small";
  if (!oot_span_ok(m->id.ptr, m->id.len) || !oot_span_ok(m->content_type.ptr, m->content_type.len) ||
      !oot_span_ok(m->body.ptr, m->body.len) || !oot_span_ok(m->headers, m->header_count)) {
    return "span with NULL pointer and non-zero length";
  }
  for (i = 0; i < m->header_count; ++i) {
    const qplug_header *h = &m->headers[i];
    if (h->key.len == 0 || h->key.ptr == NULL) return "header with an empty key";
    if (h->value.type < QPLUG_VALUE_NULL || h->value.type > QPLUG_VALUE_BYTES) return "header of unknown value type";
    if (h->value.type == QPLUG_VALUE_STRING && !oot_span_ok(h->value.as.str.ptr, h->value.as.str.len)) {
      return "string header with NULL pointer";
    }
    if (h->value.type == QPLUG_VALUE_BYTES && !oot_span_ok(h->value.as.bytes.ptr, h->value.as.bytes.len)) {
      return "bytes header with NULL pointer";
    }
  }
  return "";
}

static size_t oot_value_len(const qplug_value *v) {
  if (v->type == QPLUG_VALUE_STRING) return v->as.str.len;
  if (v->type == QPLUG_VALUE_BYTES) return v->as.bytes.len;
  return 0;
}

/* Appends len bytes at *cursor and returns where they went (never NULL). */
static char *oot_put(char **cursor, const void *src, size_t len) {
  char *at = *cursor;
  if (len > 0) memcpy(at, src, len);
  *cursor += len;
  return at;
}

/* Deep copy of a checked message; NULL when out of memory. */
static oot_msg *oot_copy(const qplug_message *m, uint32_t attempts) {
  size_t i, bytes = m->id.len + m->content_type.len + m->body.len;
  size_t hdr_bytes = m->header_count * sizeof(qplug_header);
  oot_msg *o;
  qplug_header *hdrs;
  char *cursor;
  for (i = 0; i < m->header_count; ++i) bytes += m->headers[i].key.len + oot_value_len(&m->headers[i].value);
  o = (oot_msg *)calloc(1, sizeof(oot_msg) + hdr_bytes + bytes);
  if (o == NULL) return NULL;
  hdrs = (qplug_header *)(void *)(o + 1); /* sizeof(oot_msg) keeps 8-byte alignment */
  cursor = (char *)(void *)(hdrs + m->header_count);
  o->view.struct_size = (uint32_t)sizeof(qplug_message);
  o->view.abi_major = QPLUG_ABI_MAJOR;
  o->view.abi_minor = QPLUG_ABI_MINOR;
  o->view.id.len = m->id.len;
  o->view.id.ptr = oot_put(&cursor, m->id.ptr, m->id.len);
  o->view.content_type.len = m->content_type.len;
  o->view.content_type.ptr = oot_put(&cursor, m->content_type.ptr, m->content_type.len);
  o->view.body.len = m->body.len;
  o->view.body.ptr = (const uint8_t *)oot_put(&cursor, m->body.ptr, m->body.len);
  for (i = 0; i < m->header_count; ++i) {
    const qplug_header *src = &m->headers[i];
    hdrs[i] = *src; /* type and scalar values */
    hdrs[i].key.ptr = oot_put(&cursor, src->key.ptr, src->key.len);
    if (src->value.type == QPLUG_VALUE_STRING) {
      hdrs[i].value.as.str.ptr = oot_put(&cursor, src->value.as.str.ptr, src->value.as.str.len);
    } else if (src->value.type == QPLUG_VALUE_BYTES) {
      hdrs[i].value.as.bytes.ptr = (const uint8_t *)oot_put(&cursor, src->value.as.bytes.ptr, src->value.as.bytes.len);
    }
  }
  o->view.headers = m->header_count > 0 ? hdrs : NULL;
  o->view.header_count = m->header_count;
  o->view.attempts = attempts;
  return o;
}

/* ------------------------------------------------------------------------ */
/* Queue FIFO and outstanding lists (hub lock held)                           */
/* ------------------------------------------------------------------------ */

static void oot_push_back(qplug_queue *q, oot_msg *m) {
  m->next = NULL;
  m->consumer = NULL;
  if (q->tail != NULL)
    q->tail->next = m;
  else
    q->head = m;
  q->tail = m;
  q->length++;
}

static void oot_push_front(qplug_queue *q, oot_msg *m) {
  m->consumer = NULL;
  m->next = q->head;
  q->head = m;
  if (q->tail == NULL) q->tail = m;
  q->length++;
}

static oot_msg *oot_pop(qplug_queue *q) {
  oot_msg *m = q->head;
  q->head = m->next;
  if (q->head == NULL) q->tail = NULL;
  q->length--;
  m->next = NULL;
  return m;
}

static void oot_out_append(qplug_consumer *c, oot_msg *m) {
  m->next = NULL;
  m->prev = c->out_tail;
  if (c->out_tail != NULL)
    c->out_tail->next = m;
  else
    c->out_head = m;
  c->out_tail = m;
  c->in_flight++;
}

static void oot_out_remove(qplug_consumer *c, oot_msg *m) {
  if (m->prev != NULL)
    m->prev->next = m->next;
  else
    c->out_head = m->next;
  if (m->next != NULL)
    m->next->prev = m->prev;
  else
    c->out_tail = m->prev;
  m->prev = m->next = NULL;
  c->in_flight--;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                  */
/* ------------------------------------------------------------------------ */

static qplug_driver *oot_open(const qplug_host_v1 *host, const qplug_kv *config, size_t n, qplug_status *st) {
  qplug_driver *d;
  if (n > 0) {
    /* This driver has no settings: every key is unknown. */
    oot_fail(st, QPLUG_INVALID, "oot: unknown config key '%.*s'", (int)config[0].key.len,
             config[0].key.ptr != NULL ? config[0].key.ptr : "");
    return NULL;
  }
  d = (qplug_driver *)calloc(1, sizeof *d);
  if (d != NULL) d->hub = (oot_hub *)calloc(1, sizeof *d->hub);
  if (d == NULL || d->hub == NULL || pthread_mutex_init(&d->hub->mu, NULL) != 0) {
    if (d != NULL) free(d->hub);
    free(d);
    oot_fail(st, QPLUG_INTERNAL, "oot: out of memory");
    return NULL;
  }
  d->hub->refs = 1;
  d->host = host;
  return d;
}

static int32_t oot_unsubscribe(qplug_consumer *c, qplug_status *st);

static void oot_close(qplug_driver *d, uint32_t timeout_ms) {
  qplug_queue *q;
  oot_hub *hub = d->hub;
  (void)timeout_ms; /* nothing here can block on a broker */
  pthread_mutex_lock(&hub->mu);
  d->closing = 1;
  /* The host must unsubscribe first; if it did not, stop the threads anyway
   * rather than leave them running on freed queues. */
  for (;;) {
    qplug_consumer *left = NULL;
    for (q = d->queues; q != NULL && left == NULL; q = q->next) left = q->consumers;
    if (left == NULL) break;
    pthread_mutex_unlock(&hub->mu);
    oot_log(d, QPLUG_LOG_WARN, "close() with a consumer still subscribed; unsubscribing it");
    oot_unsubscribe(left, NULL);
    pthread_mutex_lock(&hub->mu);
  }
  while ((q = d->queues) != NULL) {
    d->queues = q->next;
    while (q->head != NULL) free(oot_pop(q));
    pthread_cond_destroy(&q->changed);
    free(q->name);
    free(q);
  }
  free(d);
  oot_hub_release_locked(hub);
}

static qplug_queue *oot_declare(qplug_driver *d, qplug_str name, const qplug_kv *options, size_t n, qplug_status *st) {
  qplug_queue *q;
  if (name.len == 0 || name.ptr == NULL) {
    oot_fail(st, QPLUG_INVALID, "oot: queue name is empty");
    return NULL;
  }
  if (n > 0) {
    oot_fail(st, QPLUG_INVALID, "oot: unknown queue option '%.*s'", (int)options[0].key.len,
             options[0].key.ptr != NULL ? options[0].key.ptr : "");
    return NULL;
  }
  pthread_mutex_lock(&d->hub->mu);
  for (q = d->queues; q != NULL; q = q->next) {
    if (oot_str_eq(name, q->name)) break;
  }
  if (q == NULL && (q = (qplug_queue *)calloc(1, sizeof *q)) != NULL) {
    q->name = (char *)malloc(name.len + 1);
    if (q->name == NULL || pthread_cond_init(&q->changed, NULL) != 0) {
      free(q->name);
      free(q);
      q = NULL;
    } else {
      memcpy(q->name, name.ptr, name.len);
      q->name[name.len] = '\0';
      q->driver = d;
      q->next = d->queues;
      d->queues = q;
    }
  }
  pthread_mutex_unlock(&d->hub->mu);
  if (q == NULL) oot_fail(st, QPLUG_INTERNAL, "oot: out of memory declaring a queue");
  return q;
}

/* ------------------------------------------------------------------------ */
/* Publish                                                                    */
/* ------------------------------------------------------------------------ */

static int32_t oot_publish(qplug_queue *q, const qplug_message *const *msgs, size_t n,
                           const qplug_publish_options *options, qplug_publish_done_fn done, void *done_ud,
                           size_t *accepted, qplug_status *st) {
  oot_msg *first = NULL, *last = NULL, *m;
  oot_hub *hub = q->driver->hub;
  size_t i;
  (void)options; /* enqueueing never waits for room */
  if (accepted != NULL) *accepted = 0;
  if (n == 0 || msgs == NULL) return oot_fail(st, QPLUG_INVALID, "oot: publish of an empty batch");
  /* Copy the whole batch before taking the lock: all or nothing. */
  for (i = 0; i < n; ++i) {
    const char *why = oot_check_message(msgs[i]);
    m = why[0] == '\0' ? oot_copy(msgs[i], 0) : NULL;
    if (m == NULL) {
      while (first != NULL) {
        m = first->next;
        free(first);
        first = m;
      }
      if (why[0] != '\0') return oot_fail(st, QPLUG_INVALID, "oot: message %zu of the batch: %s", i, why);
      return oot_fail(st, QPLUG_INTERNAL, "oot: out of memory copying message %zu", i);
    }
    if (last != NULL)
      last->next = m;
    else
      first = m;
    last = m;
  }
  pthread_mutex_lock(&hub->mu);
  if (q->driver->closing) {
    pthread_mutex_unlock(&hub->mu);
    while (first != NULL) {
      m = first->next;
      free(first);
      first = m;
    }
    return oot_fail(st, QPLUG_CANCELED, "oot: driver is closing");
  }
  while (first != NULL) {
    m = first->next;
    oot_push_back(q, first);
    first = m;
  }
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&hub->mu);
  if (accepted != NULL) *accepted = n;
  if (done != NULL) {
    /* Enqueued is confirmed: complete at once, from inside publish(). */
    qplug_status ok;
    memset(&ok, 0, sizeof ok);
    done(done_ud, &ok, n);
  }
  return QPLUG_OK;
}

/* ------------------------------------------------------------------------ */
/* Consume                                                                    */
/* ------------------------------------------------------------------------ */

static void *oot_consume_loop(void *arg) {
  qplug_consumer *c = (qplug_consumer *)arg;
  qplug_queue *q = c->queue;
  oot_hub *hub = q->driver->hub;
  pthread_mutex_lock(&hub->mu);
  while (!c->stopping) {
    oot_msg *m;
    if (q->head == NULL || c->in_flight >= c->prefetch) {
      pthread_cond_wait(&q->changed, &hub->mu);
      continue;
    }
    m = oot_pop(q);
    m->view.attempts++;
    m->hub = hub;
    m->consumer = c;
    oot_out_append(c, m);
    pthread_mutex_unlock(&hub->mu);
    c->deliver(c->host_ud, m, &m->view); /* may settle m before returning */
    pthread_mutex_lock(&hub->mu);
  }
  pthread_mutex_unlock(&hub->mu);
  return NULL;
}

static qplug_consumer *oot_subscribe(qplug_queue *q, const qplug_subscribe_options *options,
                                     qplug_deliver_fn deliver_cb, void *host_ud, qplug_status *st) {
  qplug_consumer *c;
  oot_hub *hub = q->driver->hub;
  uint32_t prefetch = OOT_DEFAULT_PREFETCH;
  if (deliver_cb == NULL) {
    oot_fail(st, QPLUG_INVALID, "oot: subscribe without a deliver callback");
    return NULL;
  }
  if (options != NULL) {
    if (options->struct_size >= offsetof(qplug_subscribe_options, reserved) && options->prefetch > 0) {
      prefetch = options->prefetch;
    }
    if (options->struct_size >= sizeof(qplug_subscribe_options) && options->option_count > 0) {
      oot_fail(st, QPLUG_INVALID, "oot: unknown consumer option '%.*s'", (int)options->options[0].key.len,
               options->options[0].key.ptr != NULL ? options->options[0].key.ptr : "");
      return NULL;
    }
  }
  c = (qplug_consumer *)calloc(1, sizeof *c);
  if (c == NULL || pthread_cond_init(&c->joined, NULL) != 0) {
    free(c);
    oot_fail(st, QPLUG_INTERNAL, "oot: out of memory subscribing");
    return NULL;
  }
  c->queue = q;
  c->deliver = deliver_cb;
  c->host_ud = host_ud;
  c->prefetch = prefetch;
  pthread_mutex_lock(&hub->mu);
  if (q->driver->closing) {
    pthread_mutex_unlock(&hub->mu);
    pthread_cond_destroy(&c->joined);
    free(c);
    oot_fail(st, QPLUG_CANCELED, "oot: driver is closing");
    return NULL;
  }
  if (pthread_create(&c->thread, NULL, oot_consume_loop, c) != 0) {
    pthread_mutex_unlock(&hub->mu);
    pthread_cond_destroy(&c->joined);
    free(c);
    oot_fail(st, QPLUG_INTERNAL, "oot: cannot start a consumer thread");
    return NULL;
  }
  c->next = q->consumers;
  q->consumers = c;
  pthread_mutex_unlock(&hub->mu);
  return c;
}

static int32_t oot_settle(qplug_delivery *m, int32_t disposition, qplug_status *st) {
  oot_hub *hub = m->hub;
  qplug_consumer *c;
  qplug_queue *q;
  pthread_mutex_lock(&hub->mu);
  c = m->consumer;
  if (c == NULL) {
    /* Detached by unsubscribe: a copy is already back in the queue. */
    oot_hub_release_locked(hub);
    free(m);
    return oot_fail(st, QPLUG_CANCELED, "oot: consumer was unsubscribed; the message was requeued");
  }
  q = c->queue;
  oot_out_remove(c, m);
  if (disposition == QPLUG_NACK_REQUEUE || (disposition != QPLUG_ACK && disposition != QPLUG_REJECT)) {
    oot_push_front(q, m); /* keeps FIFO order for the next delivery */
    m = NULL;
  }
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&hub->mu);
  free(m); /* ACK, or REJECT (no native dead-letter: the core emulates it) */
  if (disposition != QPLUG_ACK && disposition != QPLUG_NACK_REQUEUE && disposition != QPLUG_REJECT) {
    return oot_fail(st, QPLUG_INVALID, "oot: unknown disposition %d (the message was requeued)", (int)disposition);
  }
  return QPLUG_OK;
}

/* Requeues copies of c's unsettled deliveries at the queue's front (in their
 * original order) and detaches the originals. Hub lock held. */
static void oot_detach_outstanding(qplug_consumer *c) {
  qplug_queue *q = c->queue;
  oot_msg *m, *copies = NULL, *copies_tail = NULL;
  size_t n = 0;
  while ((m = c->out_head) != NULL) {
    oot_msg *copy = oot_copy(&m->view, m->view.attempts);
    oot_out_remove(c, m);
    m->consumer = NULL;
    m->hub->refs++; /* the detached delivery keeps the hub alive until settled */
    if (copy == NULL) {
      oot_log(q->driver, QPLUG_LOG_ERROR, "out of memory requeueing an unsettled delivery: message lost");
      continue;
    }
    if (copies_tail != NULL)
      copies_tail->next = copy;
    else
      copies = copy;
    copies_tail = copy;
    n++;
  }
  if (copies != NULL) {
    copies_tail->next = q->head;
    q->head = copies;
    if (q->tail == NULL) q->tail = copies_tail;
    q->length += n;
  }
}

static int32_t oot_unsubscribe(qplug_consumer *c, qplug_status *st) {
  qplug_queue *q = c->queue;
  oot_hub *hub = q->driver->hub;
  qplug_consumer **link;
  (void)st;
  pthread_mutex_lock(&hub->mu);
  if (c->join_state != OOT_RUNNING) {
    /* Idempotent: a concurrent call waits for the first to finish. */
    while (c->join_state != OOT_JOINED) pthread_cond_wait(&c->joined, &hub->mu);
    pthread_mutex_unlock(&hub->mu);
    return QPLUG_OK;
  }
  c->join_state = OOT_JOINING;
  c->stopping = 1;
  pthread_cond_broadcast(&q->changed);
  pthread_mutex_unlock(&hub->mu);

  pthread_join(c->thread, NULL); /* after this no callback runs or will start */

  pthread_mutex_lock(&hub->mu);
  oot_detach_outstanding(c);
  for (link = &q->consumers; *link != NULL; link = &(*link)->next) {
    if (*link == c) {
      *link = c->next;
      break;
    }
  }
  c->join_state = OOT_JOINED;
  pthread_cond_broadcast(&c->joined);
  pthread_cond_broadcast(&q->changed); /* other consumers may take the requeued messages */
  pthread_mutex_unlock(&hub->mu);
  return QPLUG_OK;
}

static void oot_consumer_free(qplug_consumer *c) {
  oot_unsubscribe(c, NULL); /* no-op when already unsubscribed */
  pthread_cond_destroy(&c->joined);
  free(c);
}

static int32_t oot_queue_info(qplug_queue *q, qplug_queue_info *info, qplug_status *st) {
  qplug_consumer *c;
  int64_t in_flight = 0, consumers = 0;
  if (info == NULL || info->struct_size < sizeof(qplug_queue_info)) {
    return oot_fail(st, QPLUG_INVALID, "oot: queue_info needs a v1 qplug_queue_info");
  }
  pthread_mutex_lock(&q->driver->hub->mu);
  for (c = q->consumers; c != NULL; c = c->next) {
    in_flight += c->in_flight;
    consumers++;
  }
  info->messages = (int64_t)q->length;
  pthread_mutex_unlock(&q->driver->hub->mu);
  info->in_flight = in_flight;
  info->consumers = consumers;
  return QPLUG_OK;
}

/* ------------------------------------------------------------------------ */
/* The vtable and the one exported symbol                                     */
/* ------------------------------------------------------------------------ */

static const qplug_driver_v1 oot_vtable = {
    sizeof(qplug_driver_v1),
    QPLUG_ABI_MAJOR,
    QPLUG_ABI_MINOR,
    "oot",
    "0.1.0",
    "out-of-tree in-memory driver (C99, built against driver.h only)",
    QPLUG_CAP_ACK_AFTER_PROCESSING | QPLUG_CAP_NACK_REQUEUE | QPLUG_CAP_ORDERED | QPLUG_CAP_COMPETING_CONSUMERS |
        QPLUG_CAP_BATCH_PUBLISH | QPLUG_CAP_ASYNC_PUBLISH | QPLUG_CAP_DELIVERY_COUNT | QPLUG_CAP_QUEUE_INFO |
        QPLUG_CAP_HEADER_TYPES,
    NULL, /* config_schema: no settings */
    oot_open,
    oot_close,
    oot_declare,
    oot_publish,
    oot_subscribe,
    oot_settle,
    oot_unsubscribe,
    oot_consumer_free,
    oot_queue_info,
    NULL, /* instance_capabilities: every instance can do the same */
};

const qplug_driver_v1 *qplug_driver_entry(uint32_t host_major, uint32_t host_minor, qplug_status *st) {
  if (host_major != QPLUG_ABI_MAJOR) {
    oot_fail(st, QPLUG_INVALID, "oot speaks ABI %d.x, host speaks %u.%u", QPLUG_ABI_MAJOR, (unsigned)host_major,
             (unsigned)host_minor);
    return NULL;
  }
  return &oot_vtable;
}
