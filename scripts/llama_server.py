"""llama.cpp's OpenAI-compatible server with a tool-calling chat format in the model's own words.

Run with the embedded model's Python (`.run/llm/bin/python scripts/llama_server.py`, arguments as
`python -m llama_cpp.server`'s, with `--chat_format pilot-tools`); bot/dev/local_model.py does.

Why not llama-cpp-python's `chatml-function-calling`: its template never renders `tool` messages,
so the model never reads a tool's result, and it HTML-escapes the whole prompt (a `"` in code reads
`&#34;`, which the model then writes into its edits). This format renders tools, calls and results
the way Qwen2.5 was trained on (`<tools>`, `<tool_call>`, `<tool_response>`), and renders a call in
the history byte for byte as it was generated, so the server's prompt cache keeps the whole
conversation and each turn evaluates only its new tokens. A named `tool_choice` becomes a grammar
over the tool's parameters, as before. Requests without tools go to the plain `chatml` format.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import llama_cpp.server.__main__ as server_main
from llama_cpp import llama_chat_format, llama_grammar

FORMAT = "pilot-tools"
TOOLS_HEAD = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
TOOLS_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
    "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def call_text(name: str, arguments: str) -> str:
    """A tool call as the model writes it; the prompt of a forced call ends where ARGS begin."""
    return f'<tool_call>\n{{"name": {json.dumps(name)}, "arguments": {arguments}}}\n</tool_call>'


def render(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
    out: list[str] = []
    pending_results: list[str] = []

    def flush_results() -> None:
        if pending_results:
            body = "\n".join(f"<tool_response>\n{r}\n</tool_response>" for r in pending_results)
            out.append(f"<|im_start|>user\n{body}<|im_end|>\n")
            pending_results.clear()

    system_seen = False
    for message in messages:
        role = message.get("role")
        content = message.get("content") or ""
        if isinstance(content, list):  # OpenAI content parts: the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if role == "tool":
            pending_results.append(content)
            continue
        flush_results()
        if role == "system" and not system_seen:
            system_seen = True
            text = content
            if tools:
                listed = "".join("\n" + json.dumps(tool, ensure_ascii=False) for tool in tools)
                text += TOOLS_HEAD + listed + TOOLS_TAIL
            out.append(f"<|im_start|>system\n{text}<|im_end|>\n")
        elif role == "assistant":
            parts = [content] if content else []
            for call in message.get("tool_calls") or []:
                function = call.get("function", {})
                parts.append(call_text(function.get("name", ""), function.get("arguments") or "{}"))
            out.append("<|im_start|>assistant\n" + "\n".join(parts) + "<|im_end|>\n")
        else:
            out.append(f"<|im_start|>{role}\n{content}<|im_end|>\n")
    flush_results()
    if not system_seen and tools:
        listed = "".join("\n" + json.dumps(tool, ensure_ascii=False) for tool in tools)
        out.insert(0, f"<|im_start|>system\n{TOOLS_HEAD.lstrip()}{listed}{TOOLS_TAIL}<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


def parse_calls(text: str) -> list[tuple[str, str]]:
    """(name, arguments JSON) of each `<tool_call>` block the model wrote on its own."""
    calls = []
    for block in text.split("<tool_call>")[1:]:
        body = block.split("</tool_call>")[0].strip()
        try:
            data = json.loads(body)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            calls.append((data["name"], json.dumps(data.get("arguments", {}))))
    return calls


def _sampling(kwargs: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "temperature", "top_p", "top_k", "min_p", "typical_p", "presence_penalty",
        "frequency_penalty", "repeat_penalty", "tfs_z", "mirostat_mode", "mirostat_tau",
        "mirostat_eta", "logits_processor",
    )  # fmt: skip
    return {key: kwargs[key] for key in keys if kwargs.get(key) is not None}


def _response(
    model: str, content: str | None, calls: list[tuple[str, str]], finish: str, usage: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for name, arguments in calls
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }


@llama_chat_format.register_chat_completion_handler(FORMAT)
def pilot_tools(llama: Any, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    tools = kwargs.get("tools") or []
    choice = kwargs.get("tool_choice")
    if not tools or choice == "none":
        plain = llama_chat_format.get_chat_completion_handler("chatml")
        return plain(llama=llama, messages=messages, **kwargs)
    if kwargs.get("seed") is not None:
        llama.set_seed(kwargs["seed"])
    prompt = render(messages, tools)
    model = kwargs.get("model") or "local"
    max_tokens = kwargs.get("max_tokens") or None
    if choice == "required":
        # Any one tool, under a grammar over all of them: the model picks the tool in its own
        # format, in one call, and cannot write a call that does not parse.
        schema = {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "name": {"const": tool["function"]["name"]},
                        "arguments": tool["function"].get("parameters") or {"type": "object"},
                    },
                    "required": ["name", "arguments"],
                }
                for tool in tools
            ]
        }
        grammar = llama_grammar.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        done = llama.create_completion(
            prompt=prompt + "<tool_call>\n", max_tokens=max_tokens, grammar=grammar,
            stream=False, **_sampling(kwargs),
        )  # fmt: skip
        choice_ = done["choices"][0]
        calls = parse_calls("<tool_call>\n" + choice_["text"] + "\n</tool_call>")
        finish = "length" if choice_.get("finish_reason") == "length" else "tool_calls"
        if not calls:  # cut at the output limit: the caller hears it was cut
            return _response(model, choice_["text"], [], "length", done["usage"])
        return _response(model, None, calls, finish, done["usage"])
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        tool = next((t for t in tools if t["function"]["name"] == name), None)
        if tool is None:
            raise ValueError(f"tool_choice names {name!r}, which is not among the tools")
        prompt += call_text(name, "").split('"arguments": ')[0] + '"arguments": '
        grammar = llama_grammar.LlamaGrammar.from_json_schema(
            json.dumps(tool["function"].get("parameters") or {"type": "object"}), verbose=False
        )
        done = llama.create_completion(
            prompt=prompt, max_tokens=max_tokens, grammar=grammar, stream=False,
            **_sampling(kwargs),
        )  # fmt: skip
        choice_ = done["choices"][0]
        arguments = choice_["text"]
        finish = "length" if choice_.get("finish_reason") == "length" else "tool_calls"
        return _response(model, None, [(name, arguments)], finish, done["usage"])
    done = llama.create_completion(
        prompt=prompt, max_tokens=max_tokens, stop=["<|im_end|>"], stream=False,
        **_sampling(kwargs),
    )  # fmt: skip
    text = done["choices"][0]["text"]
    calls = parse_calls(text)
    finish = done["choices"][0].get("finish_reason") or "stop"
    if calls:
        content = text.split("<tool_call>")[0].strip() or None
        return _response(
            model, content, calls, "tool_calls" if finish != "length" else finish, done["usage"]
        )
    return _response(model, text, [], finish, done["usage"])


if __name__ == "__main__":
    server_main.main()
