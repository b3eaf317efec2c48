"""ttrl-kit task plugin for vision-language voting (Qwen2-VL / Qwen2.5-VL)."""
