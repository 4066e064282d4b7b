#!/usr/bin/env python3
"""A client no one here wrote (pika) on the other end of the qplug amqp driver.

  pika_peer.py publish URL QUEUE   publishes one message with properties and typed headers
  pika_peer.py get URL QUEUE       prints the next message's properties as JSON
  pika_peer.py delete URL QUEUE    deletes the queue (its consumers get a broker basic.cancel)
"""
import base64
import json
import sys

import pika


def main():
    cmd, url, queue = sys.argv[1:4]
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    if cmd == "publish":
        ch.queue_declare(queue=queue, durable=True, arguments={"x-expires": 300000})
        ch.confirm_delivery()
        props = pika.BasicProperties(
            message_id="pika-1", content_type="application/json", correlation_id="corr-7",
            reply_to="replies", type="greeting", delivery_mode=2,
            headers={"s": "text", "n": 42, "b": True})  # pika 1.2 cannot encode floats
        ch.basic_publish(exchange="", routing_key=queue, body=b'{"hello":"qplug"}', properties=props,
                         mandatory=True)
    elif cmd == "delete":
        ch.queue_delete(queue=queue)
    elif cmd == "get":
        method, props, body = ch.basic_get(queue=queue, auto_ack=True)
        if method is None:
            print(json.dumps({"empty": True}))
        else:
            headers = {}
            for k, v in (props.headers or {}).items():
                kind = type(v).__name__
                if isinstance(v, bytes):
                    v = base64.b64encode(v).decode()
                headers[k] = [kind, v]
            print(json.dumps({"message_id": props.message_id, "content_type": props.content_type,
                              "correlation_id": props.correlation_id, "delivery_mode": props.delivery_mode,
                              "priority": props.priority, "body": body.decode(), "headers": headers},
                             sort_keys=True))
    conn.close()


if __name__ == "__main__":
    main()
