import requests
import time

API_BASE = "https://api.seedance2.movie"
API_KEY = "<your_api_key>"

HEADERS = {
    "X-API-Key": API_KEY,
    "Content-Type": "application/json",
}


def upload_file(file_path, file_name, content_type):
    """Step 1: Get presigned URL and upload file"""
    resp = requests.post(
        f"{API_BASE}/api/v1/video/upload/presign",
        headers=HEADERS,
        params={"filename": file_name, "content_type": content_type},
    )
    resp.raise_for_status()
    data = resp.json()["result"]

    # Upload file to presigned URL
    with open(file_path, "rb") as f:
        requests.put(
            data["presigned_url"],
            headers={"Content-Type": content_type},
            data=f,
        ).raise_for_status()

    print(f"Uploaded: {data['file_path']}")
    return data["file_path"]


def submit_task(file_path):
    """Step 2: Submit image-to-video task"""
    resp = requests.post(
        f"{API_BASE}/api/v1/video/task",
        headers=HEADERS,
        json={
            "model": "seedance-2.0",
            "content": [
                {"type": "image_url", "image_url": file_path},
                {"type": "text", "text": "The character slowly turns around, wind blowing through hair"},
            ],
            "resolution": "720p",
            "ratio": "16:9",
            "duration": 8,
        },
    )
    resp.raise_for_status()
    result = resp.json()["result"]
    print(f"Task submitted: {result['task_id']}")
    return result["task_id"]


def poll_task(task_id, interval=5, timeout=600):
    """Step 3: Poll task status"""
    elapsed = 0
    while elapsed < timeout:
        resp = requests.get(
            f"{API_BASE}/api/v1/video/task/{task_id}",
            headers=HEADERS,
        )
        task = resp.json()["result"]
        print(f"[{elapsed}s] Status: {task['status']}")

        if task["status"] == "completed":
            print(f"Video URL: {task['video_url']}")
            return task
        if task["status"] in ("failed", "cancelled", "expired"):
            print(f"Failed: {task.get('error_message', 'Unknown error')}")
            return task

        time.sleep(interval)
        elapsed += interval

    print("Polling timeout")
    return None


if __name__ == "__main__":
    path = upload_file("./character.png", "character.png", "image/png")
    task_id = submit_task(path)
    poll_task(task_id)
