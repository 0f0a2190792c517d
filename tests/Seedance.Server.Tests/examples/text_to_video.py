import requests
import time

API_BASE = "https://api.seedance2.movie"
HEADERS = {
    "X-API-Key": "<your_api_key>",
    "Content-Type": "application/json",
}

# Submit text-to-video task
resp = requests.post(
    f"{API_BASE}/api/v1/video/task",
    headers=HEADERS,
    json={
        "model": "seedance-2.0",
        "content": [
            {"type": "text", "text": "A spaceship gliding past Saturn's rings, epic cinematic shot"}
        ],
        "resolution": "720p",
        "ratio": "21:9",
        "duration": 10,
        "generate_audio": True,
    },
)
task_id = resp.json()["result"]["task_id"]
print(f"Task submitted: {task_id}")

# Poll until complete
while True:
    resp = requests.get(
        f"{API_BASE}/api/v1/video/task/{task_id}",
        headers=HEADERS,
    )
    task = resp.json()["result"]
    print(f"Status: {task['status']}")

    if task["status"] == "completed":
        print(f"Video URL: {task['video_url']}")
        break
    elif task["status"] in ("failed", "cancelled", "expired"):
        print(f"Error: {task.get('error_message')}")
        break

    time.sleep(8)
