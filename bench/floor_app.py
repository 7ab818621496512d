"""The floor for bench/ingest.py: a bare FastAPI route that reads the body and answers 202."""

from fastapi import FastAPI, Request, Response

app = FastAPI()


@app.post("/webhooks/github")
async def accept(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)
