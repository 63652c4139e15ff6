"""Run by ``bench/instructions.py`` inside a checkout (its working directory), under valgrind:
``python bench/request_loop.py PATH N`` makes two warm-up requests of PATH through Django's test
client, then N more, reading each streamed body whole. Prints nothing."""
import os
import sys

# The checkout being counted (the working directory), in place of this file's folder.
sys.path[0] = os.getcwd()

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

client = Client()


def get(path):
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    if response.streaming:
        b"".join(response.streaming_content)


path, count = sys.argv[1], int(sys.argv[2])
for _ in range(2 + count):
    get(path)
