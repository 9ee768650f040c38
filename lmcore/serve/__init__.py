"""The book's models as a service: an OpenAI-compatible HTTP API (chapter 12).

``python -m lmcore serve --model FOLDER`` serves a GPT checkpoint folder for completions and
chat and all-MiniLM-L6-v2 for embeddings, with the OpenAI API's request and response shapes,
so the official ``openai`` client (or ``curl``) talks to it unchanged.

==========================  ==================================================================
module                      idea
==========================  ==================================================================
lmcore.serve.app            the FastAPI routes (the endpoints and the chat template)
lmcore.serve.schemas        request validation; every invalid request is a 400
lmcore.serve.errors         OpenAI error bodies for every error, never FastAPI's 422
lmcore.serve.auth           API keys (constant-time comparison), tokens-per-minute quotas
lmcore.serve.batching       continuous batching of concurrent requests with a KV cache
lmcore.serve.models         loading the GPT folder, MiniLM and a BERT classifier folder
lmcore.serve.server         uvicorn, readiness and graceful shutdown
lmcore.serve.process        the service as a background process on a free local port
==========================  ==================================================================
"""

from lmcore.serve.app import ServiceConfig, chat_prompt, create_app
from lmcore.serve.process import ServerProcess, free_port, start_server
from lmcore.serve.server import run

__all__ = ["ServiceConfig", "create_app", "chat_prompt", "run", "start_server",
           "ServerProcess", "free_port"]
