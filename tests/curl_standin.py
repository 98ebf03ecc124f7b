"""`curl` for machines without it, as far as the commands `up` prints use it: `-s`, `-X METHOD`,
`-H 'Name: value'`, `-d BODY` and one URL; the answer's body on stdout, exit 22 on no answer.
The printed commands then run verbatim in bash wherever the tests run (`make test` needs only
Python)."""

from __future__ import annotations

import sys

import httpx


def main(argv: list[str]) -> int:
    method, headers, body, url = None, {}, None, None
    args = iter(argv)
    for arg in args:
        if arg == "-s":
            continue
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif arg.startswith("-"):
            print(f"curl stand-in: {arg} is not supported", file=sys.stderr)
            return 2
        else:
            url = arg
    if url is None:
        print("curl stand-in: no URL", file=sys.stderr)
        return 2
    try:
        answer = httpx.request(
            method or ("POST" if body is not None else "GET"),
            url,
            headers=headers,
            content=body,
            timeout=30,
        )
    except httpx.HTTPError as exc:
        print(f"curl stand-in: {exc}", file=sys.stderr)
        return 22
    sys.stdout.write(answer.text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
