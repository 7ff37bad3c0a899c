"""
Test tools shipped with the SDK: a fake Aelyst server and a fake clock.
"""
