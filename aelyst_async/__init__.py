"""
aelyst-async: the async-first Python SDK for the Aelyst messaging API.
"""
