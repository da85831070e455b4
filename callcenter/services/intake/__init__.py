"""Line-list imports."""
