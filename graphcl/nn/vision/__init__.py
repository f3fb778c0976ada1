"""Image encoders and views for self-supervised learning on small images
(graphcl's path from images to graphs, e.g. LVM-Med): a small CNN, a
ResNet-18 for 28-32 px, the projection head and seeded random views."""
from graphcl.nn.vision.projector import Projector
from graphcl.nn.vision.resnet import ResNet18Small
from graphcl.nn.vision.small_cnn import SmallCNN
from graphcl.nn.vision.views import RandomViews, as_float_images

__all__ = ["SmallCNN", "ResNet18Small", "Projector", "RandomViews", "as_float_images"]
