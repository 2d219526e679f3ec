"""Backend identifiers."""

from __future__ import annotations

from enum import Enum


class BackendType(str, Enum):
    """The 16 backends vv-llm speaks to. Values are the keys used in settings."""

    OpenAI = "openai"
    Anthropic = "anthropic"
    DeepSeek = "deepseek"
    Gemini = "gemini"
    Qwen = "qwen"
    Groq = "groq"
    Mistral = "mistral"
    Moonshot = "moonshot"
    MiniMax = "minimax"
    Yi = "yi"
    ZhiPuAI = "zhipuai"
    Baichuan = "baichuan"
    StepFun = "stepfun"
    XAI = "xai"
    Ernie = "ernie"
    Local = "local"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: BackendType | str) -> BackendType:
        """Accept a member, its value or its name in any case (``"OpenAI"``, ``"openai"``, ``"xAI"``)."""
        if isinstance(value, BackendType):
            return value
        key = str(value).strip().lower()
        for member in cls:
            if member.value == key or member.name.lower() == key:
                return member
        known = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown backend {value!r}; known: {known}")
