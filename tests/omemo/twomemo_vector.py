#!/usr/bin/env python3
"""Prints python-twomemo's payload encryption (Twomemo.encrypt_plaintext's steps, with the
key fixed to 00 01 .. 1f instead of random) of b"hello": the ciphertext and the 16-byte tag,
hex. src/omemo/twomemo/tests.rs holds the values; run with the OMEMO venv's python."""

import asyncio

from doubleratchet.recommended import HashFunction
from doubleratchet.recommended.crypto_provider_impl import CryptoProviderImpl


async def main() -> None:
    key = bytes(range(32))
    material = await CryptoProviderImpl.hkdf_derive(
        hash_function=HashFunction.SHA_256,
        length=80,
        salt=b"\x00" * 32,
        info="OMEMO Payload".encode("ASCII"),
        key_material=key,
    )
    ciphertext = await CryptoProviderImpl.aes_cbc_encrypt(material[:32], material[64:], b"hello")
    tag = (await CryptoProviderImpl.hmac_calculate(material[32:64], HashFunction.SHA_256, ciphertext))[:16]
    print(ciphertext.hex())
    print(tag.hex())


asyncio.run(main())
